#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| wcfscope_fuzz::http_stream(data));

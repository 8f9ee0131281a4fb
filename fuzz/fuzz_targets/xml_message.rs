#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| wcfscope_fuzz::xml_message(data));

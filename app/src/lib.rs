//! The wcfscope desktop app as a library, so the binary and the tests in `app/tests/`
//! share one code path. The CLI subcommands live in the binary (`src/cmd/`).

pub mod gui;

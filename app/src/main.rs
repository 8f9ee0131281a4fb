//! wcfscope: the CLI (and, later, the GUI) over wcfscope-core.
fn main() {
    println!("wcfscope");
}

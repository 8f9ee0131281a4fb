//! The calculator service of the WCF samples (`ICalculator` in the
//! `http://Microsoft.ServiceModel.Samples` namespace): bodies and actions of its calls.

use super::xmlt::El;

pub const NS: &str = "http://Microsoft.ServiceModel.Samples";

/// Call `i` of a session: operation name, request body, response body.
pub fn call(i: usize) -> (&'static str, El, El) {
    // The operands of the WCF "Getting Started" sample client.
    const OPS: [(&str, f64, f64); 4] = [
        ("Add", 100.0, 15.99),
        ("Subtract", 145.0, 76.54),
        ("Multiply", 9.0, 81.25),
        ("Divide", 22.0, 7.0),
    ];
    let (op, n1, n2) = OPS[i % OPS.len()];
    // Vary the operands of later rounds so every call of a long session is distinct.
    let n1 = n1 + (i / OPS.len()) as f64;
    let result = match op {
        "Add" => n1 + n2,
        "Subtract" => n1 - n2,
        "Multiply" => n1 * n2,
        _ => n1 / n2,
    };
    let req = El::new(op)
        .ns("", NS)
        .child(El::leaf("n1", &fmt(n1)))
        .child(El::leaf("n2", &fmt(n2)));
    let resp = El::new(&format!("{op}Response"))
        .ns("", NS)
        .child(El::leaf(&format!("{op}Result"), &fmt(result)));
    (op, req, resp)
}

pub fn action(op: &str) -> String {
    format!("{NS}/ICalculator/{op}")
}

pub fn response_action(op: &str) -> String {
    format!("{NS}/ICalculator/{op}Response")
}

/// Shortest round-trip form of a double, as .NET Core's `ToString("R")` writes it.
fn fmt(v: f64) -> String {
    format!("{v}")
}

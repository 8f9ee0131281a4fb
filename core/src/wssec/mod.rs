//! WS-Security header model: tokens, SecurityTokenReference resolution, DerivedKeyToken, Timestamp.

//! Generator of WCF-faithful secure-conversation captures (tests and the demo). Shares no
//! canonicalization, signature or decryption code with the analyzer.

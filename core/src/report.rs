//! JSON and text reports of an analysis.

//! Drives the pipeline stages over a source and builds the report.

//! Weekly audit metrics computed from handoff records and timelines.

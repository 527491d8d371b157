//! Server-side HTML for what people look at: the weekly audit report, the what-if simulation
//! and the pages of the local console. Every page is one self-contained document (inline CSS,
//! charts as inline SVG drawn from the data, no script, no CDN), so it works offline, from a
//! file, from S3 or from `handoff serve`.
//!
//! Everything interpolated goes through `maud`, which escapes text and attribute values for
//! HTML; buyer text is additionally passed through [`handoff_domain::render::escape`] by the
//! page modules where it enters (control characters stripped, lines kept whole).
//!
//! - [`layout`]: the page shell, the shared style sheet, and small building blocks (a table of
//!   figures, a bar chart, a histogram) every page uses.

pub mod layout;

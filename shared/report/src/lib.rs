//! Server-side HTML for what people look at: the weekly audit report, the what-if simulation
//! and the pages of the local console. Every page is one self-contained document (inline CSS,
//! charts as inline SVG drawn from the data, no script, no CDN), so it works offline, from a
//! file, from S3 or from `handoff serve`.
//!
//! Everything interpolated goes through `maud`, which escapes text and attribute values for
//! HTML; buyer text is additionally passed through [`handoff_domain::render::escape`] by the
//! page modules where it enters (control characters stripped, lines kept whole).
//!
//! - [`audit`]: the weekly audit report (`handoff audit --html`, the audit function's S3 copy).
//! - [`layout`]: the page shell, the shared style sheet, and small building blocks (a table of
//!   figures, a bar chart, a histogram) every page uses.
//! - [`console`]: the pages of the local console in `handoff serve` (handoff list, one handoff,
//!   roster, rules with the what-if form, audit).
//! - [`simulate`]: the what-if page (`handoff simulate --html`): a period's replay under new
//!   rules, or one handoff's two routing traces side by side.

pub mod audit;
pub mod console;
pub mod layout;
pub mod simulate;

//! Short console pages that explain why nothing else is shown: the token is missing or wrong,
//! the handoff does not exist, a form was refused, or a feature is not there. None of them
//! carries any record's data.

use maud::html;

/// The page for a request without the console token (status 401): how to get in.
pub fn token_needed(wrong_token: bool) -> String {
    let first = if wrong_token {
        "That token is not this server's."
    } else {
        "This console needs the token that handoff serve printed when it started."
    };
    crate::layout::page(
        "handoff console",
        "Sign in with the server's token",
        html! {
            p { (first) }
            p { "Open the console link from the server's start-up output once (it ends in "
                code { "?token=…" } "); the browser then keeps the token in a cookie for this server and the link can be closed." }
            p.muted { "Set HANDOFF_CONSOLE_TOKEN before starting handoff serve to choose the token yourself." }
        },
    )
}

/// A page that says one thing (not found, refused, not available), with a way back.
pub fn message(title: &str, text: &str) -> String {
    crate::layout::page(
        title,
        "handoff console",
        html! {
            p { (text) }
            p { a href="/" { "Back to the handoffs" } }
        },
    )
}

//! Signed, expiring claim links.

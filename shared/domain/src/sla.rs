//! Business-minute arithmetic on a rep's calendar (time zone, working hours, time off, holidays).

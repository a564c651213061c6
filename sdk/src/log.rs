//! Logging into the host's log, tagged with the skill's id. Cheap, and budgeted by the host:
//! past the invocation's log budget, lines are counted and dropped.

use crate::bindings::joule::skill::log::{Level, log};

pub fn debug(message: impl AsRef<str>) {
    log(Level::Debug, message.as_ref());
}

pub fn info(message: impl AsRef<str>) {
    log(Level::Info, message.as_ref());
}

pub fn warn(message: impl AsRef<str>) {
    log(Level::Warn, message.as_ref());
}

pub fn error(message: impl AsRef<str>) {
    log(Level::Error, message.as_ref());
}

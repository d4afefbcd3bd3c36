//! Audit events: to journald through its native socket (structured fields, one `MESSAGE_ID` per
//! event type) when the socket exists, else one `keyward: audit: …` line each on stderr.
//! Events carry names and paths, never a value or a digest of a value.

use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;

/// Event types and their journald `MESSAGE_ID`s (stable: alerts and queries key on them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    RunStarted,
    SecretAdded,
    SecretChanged,
    SecretRemoved,
    GenerationSwitched,
    UnitsRestarted,
    Unchanged,
    Failure,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::RunStarted,
        Kind::SecretAdded,
        Kind::SecretChanged,
        Kind::SecretRemoved,
        Kind::GenerationSwitched,
        Kind::UnitsRestarted,
        Kind::Unchanged,
        Kind::Failure,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::RunStarted => "run-started",
            Kind::SecretAdded => "secret-added",
            Kind::SecretChanged => "secret-changed",
            Kind::SecretRemoved => "secret-removed",
            Kind::GenerationSwitched => "generation-switched",
            Kind::UnitsRestarted => "units-restarted",
            Kind::Unchanged => "unchanged",
            Kind::Failure => "failure",
        }
    }

    pub fn message_id(self) -> &'static str {
        match self {
            Kind::RunStarted => "8d3e6a1c0f2b4c5e9a7d1b3f5e7c9a01",
            Kind::SecretAdded => "8d3e6a1c0f2b4c5e9a7d1b3f5e7c9a02",
            Kind::SecretChanged => "8d3e6a1c0f2b4c5e9a7d1b3f5e7c9a03",
            Kind::SecretRemoved => "8d3e6a1c0f2b4c5e9a7d1b3f5e7c9a04",
            Kind::GenerationSwitched => "8d3e6a1c0f2b4c5e9a7d1b3f5e7c9a05",
            Kind::UnitsRestarted => "8d3e6a1c0f2b4c5e9a7d1b3f5e7c9a06",
            Kind::Unchanged => "8d3e6a1c0f2b4c5e9a7d1b3f5e7c9a07",
            Kind::Failure => "8d3e6a1c0f2b4c5e9a7d1b3f5e7c9a08",
        }
    }

    fn priority(self) -> u8 {
        match self {
            Kind::Failure => 3,
            Kind::RunStarted | Kind::Unchanged => 6,
            _ => 5,
        }
    }
}

/// One event: a message and `KEYWARD_*` fields.
pub struct Event {
    pub kind: Kind,
    pub message: String,
    pub fields: Vec<(&'static str, String)>,
}

impl Event {
    pub fn new(kind: Kind, message: impl Into<String>) -> Event {
        Event {
            kind,
            message: message.into(),
            fields: Vec::new(),
        }
    }
    pub fn field(mut self, k: &'static str, v: impl Into<String>) -> Event {
        self.fields.push((k, v.into()));
        self
    }
}

/// Where events go.
pub struct Audit {
    enabled: bool,
    socket: Option<(UnixDatagram, PathBuf)>,
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

impl Audit {
    /// `socket`: journald's native socket path; used if it exists.
    pub fn new(enabled: bool, socket: PathBuf) -> Audit {
        let socket = if enabled && socket.exists() {
            UnixDatagram::unbound().ok().map(|s| (s, socket))
        } else {
            None
        };
        Audit { enabled, socket }
    }

    pub fn disabled() -> Audit {
        Audit {
            enabled: false,
            socket: None,
        }
    }

    /// Send an event; a journal that refuses it falls back to `err`.
    pub fn emit(&self, ev: Event, err: &mut dyn Write) {
        if !self.enabled {
            return;
        }
        if let Some((sock, path)) = &self.socket {
            let mut d = String::new();
            d.push_str(&format!("MESSAGE={}\n", one_line(&ev.message)));
            d.push_str(&format!("MESSAGE_ID={}\n", ev.kind.message_id()));
            d.push_str(&format!("PRIORITY={}\n", ev.kind.priority()));
            d.push_str("SYSLOG_IDENTIFIER=keyward\n");
            d.push_str(&format!("KEYWARD_EVENT={}\n", ev.kind.name()));
            for (k, v) in &ev.fields {
                d.push_str(&format!("{k}={}\n", one_line(v)));
            }
            if sock.send_to(d.as_bytes(), path).is_ok() {
                return;
            }
        }
        let mut line = format!("keyward: audit: event={}", ev.kind.name());
        for (k, v) in &ev.fields {
            let key = k.trim_start_matches("KEYWARD_").to_ascii_lowercase();
            line.push_str(&format!(" {key}={}", quote(&one_line(v))));
        }
        let _ = writeln!(err, "{line}");
    }
}

fn quote(v: &str) -> String {
    if !v.is_empty() && !v.contains([' ', '"', '=']) {
        v.to_string()
    } else {
        format!("{v:?}")
    }
}

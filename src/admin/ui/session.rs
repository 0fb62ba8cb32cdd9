//! Who is looking at the console: sessions made by signing in with the admin token (or the read
//! token, for a session that only reads), kept in memory, named by an `HttpOnly`,
//! `SameSite=Strict` cookie (`Secure` under TLS), each with the CSRF token its forms carry.
//! Signing in is itself guarded by a CSRF token held in a short cookie of its own.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::PoisonError;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header;
use sha2::{Digest, Sha256};

use crate::admin::AdminState;

/// The session cookie's name.
pub(super) const SESSION_COOKIE: &str = "nr_console";
/// The cookie holding the sign-in form's CSRF token.
pub(super) const SIGN_IN_COOKIE: &str = "nr_console_sign_in";
/// How long a session lasts after signing in.
const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// The most sessions kept; the oldest goes first.
const MAX_SESSIONS: usize = 1000;

/// The sessions of this process: a restart signs everyone out.
#[derive(Debug, Default)]
pub struct Sessions {
    sessions: Mutex<HashMap<String, Session>>,
}

#[derive(Debug, Clone)]
struct Session {
    csrf: String,
    can_change: bool,
    expires: Instant,
}

/// One request's viewer.
#[derive(Debug, Clone, Default)]
pub struct Viewer {
    /// The signed-in session, if any: its id, its CSRF token, and whether it may change state
    /// (signed in with the admin token rather than the read token).
    pub session: Option<(String, String, bool)>,
    /// Whether the admin server's reads need no token.
    pub reads_open: bool,
    /// Whether an admin token is configured (else nobody can sign in to change anything).
    pub can_sign_in: bool,
}

impl Viewer {
    /// Whether the console's pages may be shown.
    pub fn may_read(&self) -> bool {
        self.reads_open || self.session.is_some()
    }

    /// The session's CSRF token, if signed in.
    pub fn csrf(&self) -> Option<&str> {
        self.session.as_ref().map(|(_, csrf, _)| csrf.as_str())
    }

    /// Whether the viewer may change state: signed in with the admin token.
    pub fn can_change(&self) -> bool {
        self.session.as_ref().is_some_and(|(_, _, change)| *change)
    }

    /// Whether `presented` is this session's CSRF token (compared in constant time).
    pub fn csrf_matches(&self, presented: Option<&str>) -> bool {
        match (self.csrf(), presented) {
            (Some(expected), Some(presented)) => same(expected, presented),
            _ => false,
        }
    }
}

/// What a token presented at sign-in opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    Change,
    Read,
    Refused,
}

impl Sessions {
    /// Starts a session; returns its id and CSRF token.
    pub fn start(&self, can_change: bool) -> (String, String) {
        let id = random_token();
        let csrf = random_token();
        let mut sessions = self.lock();
        let now = Instant::now();
        sessions.retain(|_, s| s.expires > now);
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(id, _)| id.clone())
        {
            sessions.remove(&oldest);
        }
        sessions.insert(
            id.clone(),
            Session {
                csrf: csrf.clone(),
                can_change,
                expires: now + SESSION_LIFETIME,
            },
        );
        (id, csrf)
    }

    /// Ends the session `id`.
    pub fn end(&self, id: &str) {
        self.lock().remove(id);
    }

    fn find(&self, id: &str) -> Option<Session> {
        let sessions = self.lock();
        sessions
            .get(id)
            .filter(|s| s.expires > Instant::now())
            .cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The viewer of a request with `headers`.
pub(super) fn viewer(state: &AdminState, headers: &HeaderMap) -> Viewer {
    let session = cookie(headers, SESSION_COOKIE).and_then(|id| {
        state
            .console
            .sessions
            .find(&id)
            .map(|s| (id, s.csrf, s.can_change))
    });
    Viewer {
        session,
        reads_open: state.read_token.is_none(),
        can_sign_in: state.token.is_some(),
    }
}

/// What `presented` opens: the admin token changes state, the read token only reads.
pub(super) fn access(state: &AdminState, presented: &str) -> Access {
    if state
        .token
        .as_ref()
        .is_some_and(|token| same(presented, token.expose()))
    {
        Access::Change
    } else if state
        .read_token
        .as_ref()
        .is_some_and(|token| same(presented, token.expose()))
    {
        Access::Read
    } else {
        Access::Refused
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(super) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// A `Set-Cookie` value for the console's paths: `HttpOnly`, `SameSite=Strict`, `Secure` when
/// the admin server speaks TLS; `max_age` 0 removes it.
pub(super) fn set_cookie(name: &str, value: &str, max_age: Duration, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age={}{}",
        max_age.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The session cookie's lifetime.
pub(super) fn session_lifetime() -> Duration {
    SESSION_LIFETIME
}

/// 32 random bytes, hex.
pub(super) fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares the digests, so the time taken tells nothing about the token.
pub(super) fn same(presented: &str, expected: &str) -> bool {
    Sha256::digest(presented.as_bytes()) == Sha256::digest(expected.as_bytes())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn sessions_start_end_and_carry_their_csrf_token() {
        let sessions = Sessions::default();
        let (id, csrf) = sessions.start(true);
        assert_ne!(id, csrf);
        assert_eq!(id.len(), 64);
        let found = sessions.find(&id).expect("the session");
        assert_eq!(found.csrf, csrf);
        assert!(found.can_change);
        sessions.end(&id);
        assert!(sessions.find(&id).is_none());
    }

    #[test]
    fn cookies_are_read_by_name_and_written_strict() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; nr_console=abc; b=2"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, "nr"), None);
        let set = set_cookie(SESSION_COOKIE, "abc", Duration::from_secs(60), true);
        assert_eq!(
            set,
            "nr_console=abc; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=60; Secure"
        );
        assert!(!set_cookie("x", "y", Duration::ZERO, false).contains("Secure"));
    }

    #[test]
    fn a_viewer_needs_its_own_csrf_token() {
        let viewer = Viewer {
            session: Some(("id".into(), "token".into(), true)),
            ..Viewer::default()
        };
        assert!(viewer.csrf_matches(Some("token")));
        assert!(!viewer.csrf_matches(Some("other")));
        assert!(!viewer.csrf_matches(None));
        assert!(!Viewer::default().csrf_matches(Some("token")));
    }
}

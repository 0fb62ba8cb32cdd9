//! A real SMTP server for tests (mailin-embedded on `127.0.0.1:0`, in a background thread):
//! scripted refusals, and every message it accepts kept for the test to parse.
//! The server has no TLS and no authentication. It runs until the test process ends (mailin-embedded has no
//! shutdown); an idle one costs a few blocked threads.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, TcpListener};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use mail_parser::{Address, MessageParser, MimeHeaders};
use mailin_embedded::{Action, Handler, Response, Server};

/// How long a test waits for messages before failing.
const WAIT: Duration = Duration::from_secs(5);

/// What the server refuses; everything else it accepts.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// Lower-cased address → (code, text, times left; `None` for always).
    rcpt: HashMap<String, (u16, String, Option<usize>)>,
    /// Replies to the end of DATA for the next transactions, in order.
    data: Vec<(u16, String)>,
}

impl Script {
    /// Accepts everything.
    pub fn new() -> Script {
        Script::default()
    }

    /// Answers `RCPT TO:<address>` with `code text`, every time.
    pub fn reject_rcpt(self, address: &str, code: u16, text: &str) -> Script {
        self.rcpt_reply(address, code, text, None)
    }

    /// Answers `RCPT TO:<address>` with `code text` the first `times` times, then accepts it.
    pub fn reject_rcpt_times(self, address: &str, times: usize, code: u16, text: &str) -> Script {
        self.rcpt_reply(address, code, text, Some(times))
    }

    /// Answers the end of DATA with `code text` for the next `times` transactions that get
    /// there, then accepts. The server closes the connection after such a reply.
    pub fn fail_data(mut self, times: usize, code: u16, text: &str) -> Script {
        self.data
            .extend(std::iter::repeat_n((code, text.to_owned()), times));
        self
    }

    fn rcpt_reply(mut self, address: &str, code: u16, text: &str, times: Option<usize>) -> Script {
        self.rcpt
            .insert(address.to_ascii_lowercase(), (code, text.to_owned(), times));
        self
    }
}

/// A message as the server got it: envelope and raw data.
#[derive(Debug, Clone)]
pub struct Received {
    /// The `MAIL FROM` address.
    pub from: String,
    /// The accepted `RCPT TO` addresses, in order.
    pub recipients: Vec<String>,
    /// The data, dot-stuffing removed, with CRLF line ends.
    pub data: Vec<u8>,
}

#[derive(Debug, Default)]
struct State {
    script: Script,
    /// `MAIL FROM` commands seen: one per transaction started.
    transactions: usize,
    accepted: Vec<Received>,
    /// Transactions whose data was refused by the script.
    refused: Vec<Received>,
    /// How many accepted messages `wait_for` has handed out.
    taken: usize,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One SMTP session; mailin-embedded clones it for each connection.
#[derive(Clone)]
struct Session {
    shared: Arc<Shared>,
    from: String,
    recipients: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Session {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        self.shared.lock().transactions += 1;
        self.from = from.to_owned();
        self.recipients.clear();
        self.data.clear();
        mailin_embedded::response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        let mut state = self.shared.lock();
        if let Some((code, text, times)) = state.script.rcpt.get_mut(&to.to_ascii_lowercase()) {
            match times {
                None => return Response::custom(*code, text.clone()),
                Some(left) if *left > 0 => {
                    *left -= 1;
                    return Response::custom(*code, text.clone());
                }
                Some(_) => {}
            }
        }
        self.recipients.push(to.to_owned());
        mailin_embedded::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let received = Received {
            from: self.from.clone(),
            recipients: std::mem::take(&mut self.recipients),
            data: std::mem::take(&mut self.data),
        };
        let mut state = self.shared.lock();
        let reply = if state.script.data.is_empty() {
            state.accepted.push(received);
            mailin_embedded::response::OK
        } else {
            let (code, text) = state.script.data.remove(0);
            state.refused.push(received);
            let mut reply = Response::custom(code, text);
            // mailin stays in its DATA state after a refused message: only closing is safe.
            reply.action = Action::Close;
            reply
        };
        drop(state);
        self.shared.changed.notify_all();
        reply
    }
}

/// A running test SMTP server; clones share it.
#[derive(Clone)]
pub struct SmtpServer {
    port: u16,
    shared: Arc<Shared>,
}

impl SmtpServer {
    /// Starts a server on `127.0.0.1:0` that follows `script`.
    pub fn start(script: Script) -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the SMTP test server");
        let port = listener
            .local_addr()
            .expect("SMTP test server address")
            .port();
        let shared = Arc::new(Shared::default());
        shared.lock().script = script;
        let session = Session {
            shared: Arc::clone(&shared),
            from: String::new(),
            recipients: Vec::new(),
            data: Vec::new(),
        };
        let mut server = Server::new(session);
        server
            .with_name("smtp.test")
            .with_num_threads(8)
            .with_tcp_listener(listener);
        thread::spawn(move || {
            // Runs until the process ends; an error here would show as refused connections.
            let _ = server.serve();
        });
        SmtpServer { port, shared }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `smtp://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The next `count` accepted messages not yet returned by this method, failing the test if
    /// they do not arrive within 5 s.
    pub fn wait_for(&self, count: usize) -> Vec<Received> {
        let deadline = Instant::now() + WAIT;
        let mut state = self.shared.lock();
        while state.accepted.len() < state.taken + count {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "waited 5 s for {count} messages, got {}",
                state.accepted.len() - state.taken
            );
            state = self
                .shared
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let start = state.taken;
        state.taken += count;
        state.accepted[start..start + count].to_vec()
    }

    /// Every message accepted so far.
    pub fn accepted(&self) -> Vec<Received> {
        self.shared.lock().accepted.clone()
    }

    /// Every message whose data the script refused so far.
    pub fn refused(&self) -> Vec<Received> {
        self.shared.lock().refused.clone()
    }

    /// Transactions started (`MAIL FROM` commands) so far.
    pub fn transactions(&self) -> usize {
        self.shared.lock().transactions
    }
}

/// A local port nobody listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a port");
    listener.local_addr().expect("port").port()
}

/// A mailbox as parsed from a header: display name and address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedMailbox {
    pub name: Option<String>,
    pub address: String,
}

/// The parts of a received message tests look at, decoded by mail-parser.
#[derive(Debug, Clone)]
pub struct ParsedEmail {
    pub subject: Option<String>,
    pub from: Vec<ParsedMailbox>,
    pub reply_to: Vec<ParsedMailbox>,
    /// Addresses in `To`, groups flattened.
    pub to: Vec<ParsedMailbox>,
    /// Names of the groups in `To` (`undisclosed-recipients`).
    pub to_groups: Vec<String>,
    /// Without the angle brackets.
    pub message_id: Option<String>,
    /// The decoded text/plain body.
    pub text: Option<String>,
    /// The decoded text/html body.
    pub html: Option<String>,
    /// `type/subtype` of each leaf part, in order.
    pub part_types: Vec<String>,
    /// `charset` of each leaf part, in order.
    pub part_charsets: Vec<Option<String>>,
    /// Top-level header names and raw values, in order.
    pub headers: Vec<(String, String)>,
}

impl ParsedEmail {
    /// The raw value of the first top-level header called `name` (any case), trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim())
    }

    /// Top-level header names, in order.
    pub fn header_names(&self) -> Vec<&str> {
        self.headers.iter().map(|(n, _)| n.as_str()).collect()
    }
}

impl Received {
    /// The message parsed by mail-parser; fails the test if it does not parse.
    pub fn parse(&self) -> ParsedEmail {
        let message = MessageParser::default()
            .parse(&self.data)
            .expect("the received message parses");
        let leaves: Vec<_> = message
            .parts
            .iter()
            .filter(|part| !part.is_multipart())
            .collect();
        ParsedEmail {
            subject: message.subject().map(str::to_owned),
            from: mailboxes(message.from()),
            reply_to: mailboxes(message.reply_to()),
            to: mailboxes(message.to()),
            to_groups: message
                .to()
                .and_then(Address::as_group)
                .map(|groups| {
                    groups
                        .iter()
                        .filter_map(|g| g.name.as_deref().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            message_id: message.message_id().map(str::to_owned),
            text: message.body_text(0).map(|t| t.into_owned()),
            html: message.body_html(0).map(|t| t.into_owned()),
            part_types: leaves
                .iter()
                .map(|part| {
                    part.content_type().map_or_else(String::new, |ct| {
                        format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or(""))
                    })
                })
                .collect(),
            part_charsets: leaves
                .iter()
                .map(|part| {
                    part.content_type()
                        .and_then(|ct| ct.attribute("charset"))
                        .map(str::to_owned)
                })
                .collect(),
            headers: message
                .headers_raw()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
        }
    }
}

fn mailboxes(address: Option<&Address<'_>>) -> Vec<ParsedMailbox> {
    address
        .map(|address| {
            address
                .iter()
                .map(|addr| ParsedMailbox {
                    name: addr.name().map(str::to_owned),
                    address: addr.address().unwrap_or_default().to_owned(),
                })
                .collect()
        })
        .unwrap_or_default()
}

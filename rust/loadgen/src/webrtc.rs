//! The load tool's WebRTC client: per SFU transport, one UDP socket on 127.0.0.1 that runs
//! ICE as the controlling agent of the ICE-lite SFU (answering the SFU's own checks while
//! connecting, when given our password: see [`LocalCredentials`]), DTLS 1.2 as the client
//! (the SFU was told our certificate's fingerprint and is the server), and SRTP with the
//! AEAD_AES_128_GCM keys DTLS exports. Built from mediasoup_core's sans-IO parts: the STUN
//! builder and parser, the DTLS session and SRTP sessions.
//!
//! Every transport connects before media starts ([`connect`]); afterwards the sender and the
//! receivers repeat a consent check on each transport every [`CONSENT_INTERVAL`]. An SFU that
//! makes its sending transports only once media can reach them (Janus's VideoRoom takes
//! subscribers only to a publisher whose PeerConnection is up) gives the receiving transports
//! later, on standard input ([`read_receivers`]), and they connect after the senders.

use std::collections::HashMap;
use std::io::{BufRead, ErrorKind};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use mediasoup_core::crypto::certificate::{DtlsCertificate, DtlsFingerprint, FingerprintAlgorithm};
use mediasoup_core::crypto::hmac_sha1::HmacSha1;
use mediasoup_core::dtls::{DtlsContext, DtlsEvent, DtlsRole, DtlsSession};
use mediasoup_core::packet::demux::{classify, DatagramKind};
use mediasoup_core::packet::stun::{
    binding_request, binding_success_response, BindingRequest, IceRole, StunClass, StunMessage,
    StunMethod, TransactionId,
};
use mediasoup_core::srtp::{split_dtls_keying_material, SrtpMasterKey, SrtpProfile, SrtpSession};
use mediasoup_core::worker::SLOT_LEN;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use serde::Deserialize;

/// The one SRTP profile offered in use_srtp, so the SFU has to take it.
pub const SRTP_PROFILE: SrtpProfile = SrtpProfile::AeadAes128Gcm;
/// How often every transport's consent is refreshed: ICE-lite servers drop a transport after
/// 30 s without a check (RFC 7675), browsers send one every 5 s or less.
pub const CONSENT_INTERVAL: Duration = Duration::from_secs(2);
/// How long every transport together may take to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// A connectivity check without an answer is sent again after this long.
const CHECK_RETRANSMIT: Duration = Duration::from_millis(200);
const POLL_TIMEOUT: Duration = Duration::from_millis(10);
/// Datagrams read from one socket per wake-up; the rest wait for the next round.
const READS_PER_WAKEUP: usize = 64;
/// Our USERNAME half unless `--webrtc-ufrag` says otherwise: mediasoup never learns our
/// credentials; an SFU that takes them from an SDP offer or answer (Janus) is given the ufrag
/// that its peer script wrote there.
pub const DEFAULT_USERNAME_FRAGMENT: &str = "loadgen";

/// Our ICE credentials: the ufrag of every check's USERNAME and, for an SFU that checks back
/// (libnice, under Janus, sends triggered checks even as ICE-lite and counts a pair valid only
/// once answered), the password its checks are answered with while connecting.
#[derive(Debug, Clone)]
pub struct LocalCredentials {
    pub username_fragment: String,
    /// `None`: the SFU's checks are not answered (mediasoup never sends any).
    pub password: Option<String>,
}

impl Default for LocalCredentials {
    fn default() -> Self {
        LocalCredentials {
            username_fragment: DEFAULT_USERNAME_FRAGMENT.to_owned(),
            password: None,
        }
    }
}

/// Answers the SFU's Binding requests that carry our ufrag and verify with our password
/// (RFC 8445 §7.3), as a full ICE agent does; the rest are dropped.
struct CheckAnswerer {
    username_prefix: String,
    integrity: HmacSha1,
    response: Vec<u8>,
}

impl CheckAnswerer {
    fn new(local: &LocalCredentials) -> Option<Self> {
        let password = local.password.as_ref()?;
        Some(CheckAnswerer {
            username_prefix: format!("{}:", local.username_fragment),
            integrity: HmacSha1::new(password.as_bytes()),
            response: Vec::with_capacity(SLOT_LEN),
        })
    }

    /// The response to `request` from `source`, if it is one of the SFU's checks to answer.
    fn answer(&mut self, request: &StunMessage<'_>, source: SocketAddr) -> Option<&[u8]> {
        let ours = request
            .username()
            .is_some_and(|username| username.starts_with(&self.username_prefix));
        if !ours
            || request.method() != StunMethod::Binding
            || !request.verify_fingerprint()
            || !request.verify_integrity_with(&self.integrity)
        {
            return None;
        }
        binding_success_response(request, source, &self.integrity, &mut self.response).ok()?;
        Some(&self.response)
    }
}
/// PRIORITY of a host candidate (RFC 8445 §5.1.2.1: type preference 126, local 65535).
const HOST_CANDIDATE_PRIORITY: u32 = (126 << 24) | (65535 << 8) | 255;
/// The controlling agent's tiebreaker; an ICE-lite SFU is always controlled, so it never
/// decides anything.
const TIEBREAKER: u64 = 0x6c6f_6164_6765_6e21;

/// The SFU side of one WebRtcTransport, as its ready line gave it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteTransport {
    /// Its UDP candidate.
    pub address: SocketAddr,
    pub username_fragment: String,
    pub password: String,
    /// Its certificate's fingerprint, checked at the end of the handshake.
    pub fingerprint: FingerprintEntry,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FingerprintEntry {
    pub algorithm: String,
    pub value: String,
}

/// A transport whose media arrives at one of our receive ports.
#[derive(Debug, Clone, Deserialize)]
pub struct ReceivingTransport {
    /// Our port on 127.0.0.1.
    pub port: u16,
    #[serde(flatten)]
    pub remote: RemoteTransport,
}

/// `--webrtc-peers`: the transports the streams go to, and those that send to our ports
/// (given later on standard input with `--webrtc-receivers stdin`: then this list is empty).
#[derive(Debug, Clone, Deserialize)]
pub struct PeersFile {
    pub senders: Vec<RemoteTransport>,
    #[serde(default)]
    pub receivers: Vec<ReceivingTransport>,
}

/// The line `--webrtc-receivers stdin` reads once the senders are connected.
#[derive(Debug, Clone, Deserialize)]
struct LateReceivers {
    receivers: Vec<ReceivingTransport>,
}

/// What WebRTC mode needs: our certificate and the SFU's transports.
pub struct WebRtcConfig {
    pub certificate: DtlsCertificate,
    /// Our ICE credentials (`--webrtc-ufrag`, `--webrtc-ice-pwd`).
    pub local: LocalCredentials,
    /// By SFU address: where each `--targets`/`--audio-targets` stream goes.
    pub senders: HashMap<SocketAddr, RemoteTransport>,
    /// By our receive port; empty until [`read_receivers`] when `receivers_later`.
    pub receivers: HashMap<u16, RemoteTransport>,
    /// The receiving transports come on standard input once the senders are connected.
    pub receivers_later: bool,
}

fn by_port(receivers: Vec<ReceivingTransport>) -> HashMap<u16, RemoteTransport> {
    receivers
        .into_iter()
        .map(|entry| (entry.port, entry.remote))
        .collect()
}

/// Reads the receiving transports from one JSON line `{"receivers": [TRANSPORT + "port"]}`
/// (`--webrtc-receivers stdin`), as the peers file lists them.
pub fn read_receivers(input: impl BufRead) -> Result<HashMap<u16, RemoteTransport>, String> {
    let mut line = String::new();
    let mut input = input;
    input
        .read_line(&mut line)
        .map_err(|error| format!("reading the receivers: {error}"))?;
    if line.trim().is_empty() {
        return Err("standard input ended before the receivers came".into());
    }
    let late: LateReceivers =
        serde_json::from_str(&line).map_err(|error| format!("the receivers line: {error}"))?;
    Ok(by_port(late.receivers))
}

impl WebRtcConfig {
    /// Loads the certificate, its key and the peers file.
    pub fn load(certificate: &Path, private_key: &Path, peers: &Path) -> Result<Self, String> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|error| format!("{}: {error}", path.display()))
        };
        let certificate = DtlsCertificate::from_pem(&read(certificate)?, &read(private_key)?)
            .map_err(|error| error.to_string())?;
        let peers: PeersFile = serde_json::from_slice(&read(peers)?)
            .map_err(|error| format!("{}: {error}", peers.display()))?;
        Ok(WebRtcConfig {
            certificate,
            local: LocalCredentials::default(),
            senders: peers
                .senders
                .into_iter()
                .map(|transport| (transport.address, transport))
                .collect(),
            receivers: by_port(peers.receivers),
            receivers_later: false,
        })
    }
}

/// `--make-cert DIR`: a fresh certificate and key as `DIR/cert.pem` and `DIR/key.pem` (the
/// key readable by its owner only); returns the JSON line that names them and gives the
/// certificate's sha-256 fingerprint, which the SFU's `connect` takes.
pub fn make_certificate(directory: &Path) -> Result<String, String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;

    let certificate = DtlsCertificate::generate().map_err(|error| error.to_string())?;
    std::fs::create_dir_all(directory).map_err(|error| error.to_string())?;
    let certificate_path = directory.join("cert.pem");
    let key_path = directory.join("key.pem");
    let failed = |path: &Path, error: std::io::Error| format!("{}: {error}", path.display());
    std::fs::write(&certificate_path, certificate.certificate_pem())
        .map_err(|error| failed(&certificate_path, error))?;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&key_path)
        .and_then(|mut file| file.write_all(&certificate.private_key_pem()))
        .map_err(|error| failed(&key_path, error))?;
    let fingerprint = certificate.fingerprint(FingerprintAlgorithm::Sha256);
    let line = serde_json::json!({
        "certificate": certificate_path.display().to_string(),
        "privateKey": key_path.display().to_string(),
        "fingerprint": {"algorithm": fingerprint.algorithm.name(), "value": fingerprint.value},
    });
    Ok(line.to_string())
}

/// Binding requests to one SFU transport: the first checks, then consent refreshes.
/// USE-CANDIDATE is on every one, as browsers send it, so the pair stays nominated.
pub struct ConsentCheck {
    remote: SocketAddr,
    remote_username_fragment: String,
    local_username_fragment: String,
    integrity: HmacSha1,
    /// Transaction ids are this transport's number and a count: unique within the run,
    /// which is all a client on loopback needs from them.
    transport_number: u32,
    sent: u64,
    request: Vec<u8>,
}

impl ConsentCheck {
    fn new(transport_number: u32, remote: &RemoteTransport, local_username_fragment: &str) -> Self {
        ConsentCheck {
            remote: remote.address,
            remote_username_fragment: remote.username_fragment.clone(),
            local_username_fragment: local_username_fragment.to_owned(),
            integrity: HmacSha1::new(remote.password.as_bytes()),
            transport_number,
            sent: 0,
            request: Vec::with_capacity(SLOT_LEN),
        }
    }

    fn transaction_id(&self) -> TransactionId {
        let mut id = [0u8; 12];
        id[..4].copy_from_slice(&self.transport_number.to_be_bytes());
        id[4..].copy_from_slice(&self.sent.to_be_bytes());
        id
    }

    /// Sends the next request from `socket`. A request the kernel refuses is a lost one, as
    /// a check over UDP may be; the next round sends another.
    pub fn send(&mut self, socket: &UdpSocket) {
        self.sent += 1;
        let request = BindingRequest {
            transaction_id: self.transaction_id(),
            remote_ufrag: &self.remote_username_fragment,
            local_ufrag: &self.local_username_fragment,
            priority: HOST_CANDIDATE_PRIORITY,
            role: IceRole::Controlling {
                tiebreaker: TIEBREAKER,
            },
            use_candidate: true,
            nomination: None,
        };
        if binding_request(&request, &self.integrity, &mut self.request).is_ok() {
            let _ = socket.send_to(&self.request, self.remote);
        }
    }

    /// Whether `response` answers the last request sent, with the transport's password.
    fn is_answer(&self, response: &StunMessage<'_>) -> bool {
        response.transaction_id() == self.transaction_id()
            && response.verify_integrity_with(&self.integrity)
    }
}

/// A connected transport: its socket, the SRTP keys DTLS exported, its consent checks, and
/// the DTLS session (which carries SCTP for DataChannels).
pub struct Link {
    pub socket: UdpSocket,
    pub remote: SocketAddr,
    pub consent: ConsentCheck,
    pub dtls: Box<DtlsSession>,
    local_key: SrtpMasterKey,
    remote_key: SrtpMasterKey,
}

impl Link {
    /// The session that protects what we send.
    pub fn protect_session(&self) -> Result<SrtpSession, String> {
        SrtpSession::new(SRTP_PROFILE, &self.local_key.key, &self.local_key.salt)
            .map_err(|error| error.to_string())
    }

    /// The session that unprotects what the SFU sends us.
    pub fn unprotect_session(&self) -> Result<SrtpSession, String> {
        SrtpSession::new(SRTP_PROFILE, &self.remote_key.key, &self.remote_key.salt)
            .map_err(|error| error.to_string())
    }
}

enum Stage {
    /// Connectivity checks until one is answered.
    Checking {
        next_check: Instant,
    },
    Handshaking(Box<DtlsSession>),
    Connected {
        session: Box<DtlsSession>,
        local_key: SrtpMasterKey,
        remote_key: SrtpMasterKey,
    },
}

struct Pending {
    socket: UdpSocket,
    remote: RemoteTransport,
    fingerprint: DtlsFingerprint,
    consent: ConsentCheck,
    stage: Stage,
}

impl Pending {
    fn send_dtls(&mut self) {
        let Stage::Handshaking(session) = &mut self.stage else {
            return;
        };
        while let Some(datagram) = session.poll_datagram() {
            // A lost flight is resent on the session's timer.
            let _ = self.socket.send_to(&datagram, self.remote.address);
        }
    }

    /// Moves on with one datagram from the SFU; true when it completed the connection.
    fn handle(
        &mut self,
        datagram: &[u8],
        context: &DtlsContext,
        answerer: Option<&mut CheckAnswerer>,
        now: Instant,
    ) -> Result<bool, String> {
        let address = self.remote.address;
        if let (DatagramKind::Stun, Some(answerer)) = (classify(datagram), answerer) {
            if let Ok(request) = StunMessage::parse(datagram) {
                if request.class() == StunClass::Request {
                    if let Some(response) = answerer.answer(&request, address) {
                        // A lost answer is a lost datagram: the SFU checks again.
                        let _ = self.socket.send_to(response, address);
                    }
                    return Ok(false);
                }
            }
        }
        match (classify(datagram), &mut self.stage) {
            (DatagramKind::Stun, Stage::Checking { .. }) => {
                let Ok(message) = StunMessage::parse(datagram) else {
                    return Ok(false);
                };
                if let Some((code, reason)) = message.error_code() {
                    return Err(format!("{address}: ICE check refused: {code} {reason}"));
                }
                if message.class() != StunClass::SuccessResponse
                    || !self.consent.is_answer(&message)
                {
                    return Ok(false);
                }
                let session =
                    DtlsSession::new(context, DtlsRole::Client, self.fingerprint.clone(), now)
                        .map_err(|error| format!("{address}: {error}"))?;
                self.stage = Stage::Handshaking(Box::new(session));
                self.send_dtls();
                Ok(false)
            }
            (DatagramKind::Dtls, Stage::Handshaking(session)) => {
                // A rejected record surfaces as a Failed event when it ends the handshake.
                let _ = session.handle_datagram(datagram, now);
                let mut keys = None;
                while let Some(event) = session.poll_event() {
                    match event {
                        DtlsEvent::Connected {
                            srtp_profile,
                            keying_material,
                            ..
                        } => keys = Some((srtp_profile, keying_material)),
                        DtlsEvent::Failed(reason) => return Err(format!("{address}: {reason}")),
                        DtlsEvent::Closed | DtlsEvent::ApplicationData(_) => {}
                    }
                }
                self.send_dtls();
                let Some((profile, material)) = keys else {
                    return Ok(false);
                };
                if profile != SRTP_PROFILE {
                    return Err(format!("{address}: the SFU chose {profile}"));
                }
                let (local_key, remote_key) = split_dtls_keying_material(profile, &material, true)
                    .map_err(|error| error.to_string())?;
                let Stage::Handshaking(session) =
                    std::mem::replace(&mut self.stage, Stage::Checking { next_check: now })
                else {
                    unreachable!("matched as handshaking above");
                };
                self.stage = Stage::Connected {
                    session,
                    local_key,
                    remote_key,
                };
                Ok(true)
            }
            // RTCP, late retransmissions, answers to earlier checks.
            _ => Ok(false),
        }
    }

    fn on_time(&mut self, now: Instant) {
        match &mut self.stage {
            Stage::Checking { next_check } if now >= *next_check => {
                *next_check = now + CHECK_RETRANSMIT;
                self.consent.send(&self.socket);
            }
            Stage::Handshaking(session) => {
                session.handle_timeout(now);
                self.send_dtls();
            }
            _ => {}
        }
    }
}

/// Connects every transport: `sockets[i]` (non-blocking, bound on 127.0.0.1) to
/// `transports[i]`, with our `local` ICE credentials. Returns the links in the same order,
/// or why not all connected in time.
pub fn connect(
    certificate: &DtlsCertificate,
    local: &LocalCredentials,
    sockets: Vec<UdpSocket>,
    transports: Vec<RemoteTransport>,
) -> Result<Vec<Link>, String> {
    let context = DtlsContext::new(certificate, &[SRTP_PROFILE]).map_err(|e| e.to_string())?;
    let poll = Poll::new().map_err(|error| error.to_string())?;
    let now = Instant::now();
    let mut pending = Vec::with_capacity(sockets.len());
    for (number, (socket, remote)) in sockets.into_iter().zip(transports).enumerate() {
        let algorithm = FingerprintAlgorithm::from_name(&remote.fingerprint.algorithm)
            .ok_or_else(|| format!("unknown algorithm {}", remote.fingerprint.algorithm))?;
        poll.registry()
            .register(
                &mut SourceFd(&socket.as_raw_fd()),
                Token(number),
                Interest::READABLE,
            )
            .map_err(|error| error.to_string())?;
        pending.push(Pending {
            fingerprint: DtlsFingerprint {
                algorithm,
                value: remote.fingerprint.value.clone(),
            },
            consent: ConsentCheck::new(number as u32, &remote, &local.username_fragment),
            socket,
            remote,
            stage: Stage::Checking { next_check: now },
        });
    }
    run_handshakes(poll, &context, CheckAnswerer::new(local), &mut pending)?;
    pending
        .into_iter()
        .map(|transport| match transport.stage {
            Stage::Connected {
                session,
                local_key,
                remote_key,
            } => Ok(Link {
                socket: transport.socket,
                remote: transport.remote.address,
                consent: transport.consent,
                dtls: session,
                local_key,
                remote_key,
            }),
            _ => Err("a transport did not connect".to_owned()),
        })
        .collect()
}

fn run_handshakes(
    mut poll: Poll,
    context: &DtlsContext,
    mut answerer: Option<CheckAnswerer>,
    pending: &mut [Pending],
) -> Result<(), String> {
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    let mut events = Events::with_capacity(1024);
    let mut buffer = vec![0u8; SLOT_LEN];
    let mut connected = 0;
    // Sockets with datagrams left after their wake-up's share was read (edge-triggered
    // polling will not report them again).
    let mut unfinished: Vec<usize> = Vec::new();
    while connected < pending.len() {
        let now = Instant::now();
        if now >= deadline {
            return Err(format!(
                "{connected} of {} WebRTC transports connected in {} s",
                pending.len(),
                CONNECT_TIMEOUT.as_secs()
            ));
        }
        for transport in pending.iter_mut() {
            transport.on_time(now);
        }
        let timeout = if unfinished.is_empty() {
            POLL_TIMEOUT
        } else {
            Duration::ZERO
        };
        poll.poll(&mut events, Some(timeout))
            .map_err(|error| error.to_string())?;
        let mut ready: Vec<usize> = std::mem::take(&mut unfinished);
        ready.extend(events.iter().map(|event| event.token().0));
        ready.sort_unstable();
        ready.dedup();
        let now = Instant::now();
        for index in ready {
            let transport = &mut pending[index];
            let mut reads = 0;
            loop {
                if reads == READS_PER_WAKEUP {
                    unfinished.push(index);
                    break;
                }
                reads += 1;
                match transport.socket.recv_from(&mut buffer) {
                    Ok((len, from)) => {
                        if from == transport.remote.address
                            && transport.handle(&buffer[..len], context, answerer.as_mut(), now)?
                        {
                            connected += 1;
                        }
                    }
                    Err(error) if error.kind() == ErrorKind::WouldBlock => break,
                    Err(error) if error.kind() == ErrorKind::Interrupted => {}
                    // An ICMP error from an earlier datagram; the checks go on.
                    Err(error) if error.kind() == ErrorKind::ConnectionRefused => {}
                    Err(error) => return Err(error.to_string()),
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_made_certificate_loads_back_with_the_printed_fingerprint() {
        let directory = std::env::temp_dir().join(format!("loadgen-cert-{}", std::process::id()));
        let line = make_certificate(&directory).unwrap();
        let certificate_pem = std::fs::read(directory.join("cert.pem")).unwrap();
        let key_pem = std::fs::read(directory.join("key.pem")).unwrap();
        let loaded = DtlsCertificate::from_pem(&certificate_pem, &key_pem).unwrap();
        let fingerprint = loaded.fingerprint(FingerprintAlgorithm::Sha256);
        assert!(line.contains(&fingerprint.value), "{line}");
        assert!(line.contains("\"sha-256\""), "{line}");
        std::fs::remove_dir_all(&directory).unwrap();
    }

    #[test]
    fn the_sfu_checks_are_answered_only_with_our_credentials() {
        let local = LocalCredentials {
            username_fragment: "client".into(),
            password: Some("clientpassword".into()),
        };
        let mut answerer = CheckAnswerer::new(&local).unwrap();
        let source: SocketAddr = "127.0.0.1:30000".parse().unwrap();
        let check = |username: &str, password: &[u8]| {
            let mut request = Vec::new();
            let check = BindingRequest {
                transaction_id: [7; 12],
                remote_ufrag: username,
                local_ufrag: "sfu",
                priority: HOST_CANDIDATE_PRIORITY,
                role: IceRole::Controlled {
                    tiebreaker: TIEBREAKER,
                },
                use_candidate: false,
                nomination: None,
            };
            binding_request(&check, &HmacSha1::new(password), &mut request).unwrap();
            request
        };
        let good = check("client", b"clientpassword");
        let response = answerer
            .answer(&StunMessage::parse(&good).unwrap(), source)
            .unwrap()
            .to_vec();
        let response = StunMessage::parse(&response).unwrap();
        assert_eq!(response.class(), StunClass::SuccessResponse);
        assert_eq!(response.transaction_id(), [7; 12]);
        assert_eq!(response.xor_mapped_address(), Some(source));
        assert!(response.verify_integrity(b"clientpassword"));
        let wrong_password = check("client", b"otherpassword");
        assert!(answerer
            .answer(&StunMessage::parse(&wrong_password).unwrap(), source)
            .is_none());
        let wrong_username = check("other", b"clientpassword");
        assert!(answerer
            .answer(&StunMessage::parse(&wrong_username).unwrap(), source)
            .is_none());
        assert!(CheckAnswerer::new(&LocalCredentials::default()).is_none());
    }

    #[test]
    fn late_receivers_are_one_json_line() {
        let line = concat!(
            r#"{"receivers": [{"port": 41000, "address": "127.0.0.1:30000","#,
            r#" "usernameFragment": "u", "password": "p","#,
            r#" "fingerprint": {"algorithm": "sha-256", "value": "AB"}}]}"#,
            "\n"
        );
        let receivers = read_receivers(line.as_bytes()).unwrap();
        assert_eq!(
            receivers[&41000].address,
            "127.0.0.1:30000".parse().unwrap()
        );
        assert!(read_receivers(&b""[..]).is_err());
    }

    #[test]
    fn checks_carry_the_sfu_username_and_verify_with_its_password() {
        let remote = RemoteTransport {
            address: "127.0.0.1:9".parse().unwrap(),
            username_fragment: "sfuufrag".into(),
            password: "sfupassword".into(),
            fingerprint: FingerprintEntry {
                algorithm: "sha-256".into(),
                value: String::new(),
            },
        };
        let mut check = ConsentCheck::new(7, &remote, "clientufrag");
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        check.send(&socket);
        let first_id = check.transaction_id();
        check.send(&socket);
        assert_ne!(check.transaction_id(), first_id);
        let message = StunMessage::parse(&check.request).unwrap();
        assert_eq!(message.username(), Some("sfuufrag:clientufrag"));
        assert!(message.use_candidate());
        assert_eq!(message.ice_controlling(), Some(TIEBREAKER));
        assert!(message.verify_integrity(b"sfupassword"));
        assert!(message.verify_fingerprint());
    }
}

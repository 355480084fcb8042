use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;
use crate::ice::TransportProtocol;
use crate::packet::stun::{binding_request, BindingRequest, IceRole};

const CLIENT_UFRAG: &str = "clientufrag";
const CLIENT_TIEBREAKER: u64 = 0x0102_0304_0506_0708;

fn server_parameters(tag: &str) -> IceParameters {
    IceParameters {
        username_fragment: format!("server{tag}"),
        password: format!("server-password-{tag}-0123456789"),
    }
}

fn tuple(remote_port: u16) -> TransportTuple {
    TransportTuple {
        local: "127.0.0.1:40000".parse().unwrap(),
        remote: SocketAddr::from(([127, 0, 0, 1], remote_port)),
        protocol: TransportProtocol::Udp,
    }
}

struct Check<'a> {
    server: &'a IceParameters,
    use_candidate: bool,
    nomination: Option<u32>,
    role: IceRole,
}

impl<'a> Check<'a> {
    fn to(server: &'a IceParameters) -> Self {
        Check {
            server,
            use_candidate: false,
            nomination: None,
            role: IceRole::Controlling {
                tiebreaker: CLIENT_TIEBREAKER,
            },
        }
    }

    fn nominating(mut self) -> Self {
        self.use_candidate = true;
        self
    }

    fn bytes_with_password(&self, password: &str) -> Vec<u8> {
        let mut out = Vec::new();
        binding_request(
            &BindingRequest {
                transaction_id: [7; 12],
                remote_ufrag: &self.server.username_fragment,
                local_ufrag: CLIENT_UFRAG,
                priority: 1_853_824_767,
                role: self.role,
                use_candidate: self.use_candidate,
                nomination: self.nomination,
            },
            &HmacSha1::new(password.as_bytes()),
            &mut out,
        )
        .unwrap();
        out
    }

    fn bytes(&self) -> Vec<u8> {
        self.bytes_with_password(&self.server.password)
    }
}

fn handle(
    server: &mut IceServer,
    request: &[u8],
    from: TransportTuple,
    now: Instant,
) -> (StunOutcome, Vec<u8>) {
    let message = StunMessage::parse(request).unwrap();
    let mut out = Vec::new();
    let outcome = server.handle_stun(&message, from, now, &mut out);
    (outcome, out)
}

fn events(server: &mut IceServer) -> Vec<IceEvent> {
    std::iter::from_fn(|| server.poll_event()).collect()
}

#[test]
fn a_valid_check_is_answered_and_connects_then_nomination_completes() {
    let parameters = server_parameters("a");
    let mut server = IceServer::new(parameters.clone(), Some(Duration::from_secs(30)));
    let now = Instant::now();

    let (outcome, response) = handle(
        &mut server,
        &Check::to(&parameters).bytes(),
        tuple(5000),
        now,
    );
    assert_eq!(outcome, StunOutcome::Authenticated);
    let response = StunMessage::parse(&response).unwrap();
    assert_eq!(response.class(), StunClass::SuccessResponse);
    assert_eq!(response.transaction_id(), [7; 12]);
    assert_eq!(response.xor_mapped_address(), Some(tuple(5000).remote));
    assert!(response.verify_integrity(parameters.password.as_bytes()));
    assert!(response.verify_fingerprint());
    assert_eq!(server.state(), IceState::Connected);
    assert_eq!(
        events(&mut server),
        [
            IceEvent::SelectedTupleChanged(tuple(5000)),
            IceEvent::StateChanged(IceState::Connected)
        ]
    );

    // The client nominates a different pair: the selection follows it.
    let (outcome, _) = handle(
        &mut server,
        &Check::to(&parameters).nominating().bytes(),
        tuple(6000),
        now,
    );
    assert_eq!(outcome, StunOutcome::Authenticated);
    assert_eq!(server.state(), IceState::Completed);
    assert_eq!(server.selected_tuple(), Some(tuple(6000)));
    assert!(server.is_valid_tuple(&tuple(5000)) && server.is_valid_tuple(&tuple(6000)));
    assert_eq!(
        events(&mut server),
        [
            IceEvent::SelectedTupleChanged(tuple(6000)),
            IceEvent::StateChanged(IceState::Completed)
        ]
    );

    // A later check without nomination on another pair only teaches the tuple.
    handle(
        &mut server,
        &Check::to(&parameters).bytes(),
        tuple(7000),
        now,
    );
    assert_eq!(server.selected_tuple(), Some(tuple(6000)));
    assert!(server.is_valid_tuple(&tuple(7000)));
}

#[test]
fn wrong_credentials_get_401_no_larger_than_the_request_and_change_nothing() {
    let parameters = server_parameters("b");
    let mut server = IceServer::new(parameters.clone(), None);
    let now = Instant::now();

    let wrong_password = Check::to(&parameters).bytes_with_password("not-the-password");
    let (outcome, response) = handle(&mut server, &wrong_password, tuple(5000), now);
    assert_eq!(outcome, StunOutcome::Rejected(IceDrop::BadIntegrity));
    assert!(response.len() <= wrong_password.len());
    let parsed = StunMessage::parse(&response).unwrap();
    assert_eq!(parsed.class(), StunClass::ErrorResponse);
    assert_eq!(parsed.error_code().map(|(code, _)| code), Some(401));
    assert_eq!(parsed.message_integrity_offset(), None);

    let other_server = server_parameters("other");
    let (outcome, _) = handle(
        &mut server,
        &Check::to(&other_server).bytes(),
        tuple(5000),
        now,
    );
    assert_eq!(outcome, StunOutcome::Rejected(IceDrop::UnknownUsername));

    assert_eq!(server.state(), IceState::New);
    assert!(!server.is_valid_tuple(&tuple(5000)));
    assert_eq!(server.selected_tuple(), None);
    assert!(events(&mut server).is_empty());
}

#[test]
fn a_client_claiming_the_controlled_role_gets_an_authenticated_487() {
    let parameters = server_parameters("c");
    let mut server = IceServer::new(parameters.clone(), None);
    let mut check = Check::to(&parameters);
    check.role = IceRole::Controlled { tiebreaker: 1 };
    let (outcome, response) = handle(&mut server, &check.bytes(), tuple(5000), Instant::now());
    assert_eq!(outcome, StunOutcome::Rejected(IceDrop::RoleConflict));
    let parsed = StunMessage::parse(&response).unwrap();
    assert_eq!(parsed.error_code().map(|(code, _)| code), Some(487));
    assert!(parsed.verify_integrity(parameters.password.as_bytes()));
    assert_eq!(server.state(), IceState::New);
}

#[test]
fn a_bad_fingerprint_or_a_response_is_dropped_silently() {
    let parameters = server_parameters("d");
    let mut server = IceServer::new(parameters.clone(), None);
    let mut request = Check::to(&parameters).bytes();
    let last = request.len() - 1;
    request[last] ^= 0xFF;
    let (outcome, response) = handle(&mut server, &request, tuple(5000), Instant::now());
    assert_eq!(outcome, StunOutcome::Dropped(IceDrop::BadFingerprint));
    assert!(response.is_empty());

    let mut success = Vec::new();
    let valid = Check::to(&parameters).bytes();
    binding_success_response(
        &StunMessage::parse(&valid).unwrap(),
        tuple(1).remote,
        &HmacSha1::new(b"x"),
        &mut success,
    )
    .unwrap();
    let (outcome, response) = handle(&mut server, &success, tuple(5000), Instant::now());
    assert_eq!(outcome, StunOutcome::Dropped(IceDrop::NotARequest));
    assert!(response.is_empty());
}

#[test]
fn consent_expires_without_checks_and_a_new_check_reconnects() {
    let parameters = server_parameters("e");
    let mut server = IceServer::new(parameters.clone(), Some(Duration::from_secs(30)));
    let start = Instant::now();
    handle(
        &mut server,
        &Check::to(&parameters).nominating().bytes(),
        tuple(5000),
        start,
    );
    assert_eq!(server.poll_timeout(), Some(start + Duration::from_secs(30)));

    // A consent check at 20 s pushes the deadline.
    let refreshed = start + Duration::from_secs(20);
    handle(
        &mut server,
        &Check::to(&parameters).bytes(),
        tuple(5000),
        refreshed,
    );
    server.handle_timeout(start + Duration::from_secs(31));
    assert_eq!(server.state(), IceState::Completed);

    server.handle_timeout(refreshed + Duration::from_secs(30));
    assert_eq!(server.state(), IceState::Disconnected);
    assert_eq!(server.selected_tuple(), None);
    assert!(!server.is_valid_tuple(&tuple(5000)));
    assert_eq!(server.poll_timeout(), None);

    let later = refreshed + Duration::from_secs(40);
    handle(
        &mut server,
        &Check::to(&parameters).bytes(),
        tuple(5001),
        later,
    );
    assert_eq!(server.state(), IceState::Connected);
    assert_eq!(server.selected_tuple(), Some(tuple(5001)));
}

#[test]
fn restart_keeps_old_credentials_until_the_client_uses_the_new_ones() {
    let old = server_parameters("old");
    let new = server_parameters("new");
    let mut server = IceServer::new(old.clone(), None);
    let now = Instant::now();
    handle(
        &mut server,
        &Check::to(&old).nominating().bytes(),
        tuple(5000),
        now,
    );
    server.restart(new.clone(), now);
    assert_eq!(server.parameters(), &new);
    assert_eq!(server.state(), IceState::Completed);

    let (outcome, _) = handle(&mut server, &Check::to(&old).bytes(), tuple(5000), now);
    assert_eq!(outcome, StunOutcome::Authenticated);
    // A forged check with the new username but a wrong password does not end the grace period.
    let forged = Check::to(&new).bytes_with_password("guess");
    assert_eq!(
        handle(&mut server, &forged, tuple(5000), now).0,
        StunOutcome::Rejected(IceDrop::BadIntegrity)
    );
    assert_eq!(
        handle(&mut server, &Check::to(&old).bytes(), tuple(5000), now).0,
        StunOutcome::Authenticated
    );
    let (outcome, _) = handle(&mut server, &Check::to(&new).bytes(), tuple(5000), now);
    assert_eq!(outcome, StunOutcome::Authenticated);
    let (outcome, _) = handle(&mut server, &Check::to(&old).bytes(), tuple(5000), now);
    assert_eq!(outcome, StunOutcome::Rejected(IceDrop::UnknownUsername));
}

#[test]
fn renomination_moves_the_selection_only_for_higher_values() {
    let parameters = server_parameters("f");
    let mut server = IceServer::new(parameters.clone(), None);
    let now = Instant::now();
    for (port, value, expected) in [(5000, 1, 5000), (6000, 3, 6000), (7000, 2, 6000)] {
        let mut check = Check::to(&parameters);
        check.nomination = Some(value);
        handle(&mut server, &check.bytes(), tuple(port), now);
        assert_eq!(server.selected_tuple(), Some(tuple(expected)));
    }
    assert_eq!(server.state(), IceState::Completed);
}

#[test]
fn tuples_are_bounded_and_the_selected_one_survives() {
    let parameters = server_parameters("g");
    let mut server = IceServer::new(parameters.clone(), None);
    let now = Instant::now();
    handle(
        &mut server,
        &Check::to(&parameters).nominating().bytes(),
        tuple(4000),
        now,
    );
    for port in 5000..5100 {
        handle(
            &mut server,
            &Check::to(&parameters).bytes(),
            tuple(port),
            now,
        );
    }
    assert_eq!(server.tuples().len(), MAX_TUPLES);
    assert!(server.is_valid_tuple(&tuple(4000)));
    assert!(server.is_valid_tuple(&tuple(5099)));
    assert_eq!(server.selected_tuple(), Some(tuple(4000)));
}

#[test]
fn losing_the_selected_tcp_tuple_disconnects() {
    let parameters = server_parameters("h");
    let mut server = IceServer::new(parameters.clone(), None);
    let tcp = TransportTuple {
        protocol: TransportProtocol::Tcp,
        ..tuple(5000)
    };
    handle(
        &mut server,
        &Check::to(&parameters).nominating().bytes(),
        tcp,
        Instant::now(),
    );
    server.remove_tuple(&tcp);
    assert_eq!(server.state(), IceState::Disconnected);
    assert_eq!(server.selected_tuple(), None);
}

proptest! {
    /// Whatever a client sends, unauthenticated answers are never larger than the request
    /// (no amplification) and nothing panics.
    #[test]
    fn arbitrary_stun_never_amplifies(body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let parameters = server_parameters("p");
        let mut server = IceServer::new(parameters, Some(Duration::from_secs(30)));
        let mut datagram = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42];
        datagram.extend_from_slice(&[9; 12]);
        datagram.extend_from_slice(&body);
        let length = u16::try_from(body.len()).unwrap();
        datagram[2..4].copy_from_slice(&length.to_be_bytes());
        if let Ok(message) = StunMessage::parse(&datagram) {
            let mut out = Vec::new();
            let outcome = server.handle_stun(&message, tuple(1), Instant::now(), &mut out);
            prop_assert_ne!(outcome, StunOutcome::Authenticated);
            prop_assert!(out.len() <= datagram.len());
        }
    }
}

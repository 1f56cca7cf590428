//! TLS listeners: each certificate kind fails verification for its own reason, the valid one
//! passes, and the client-auth listener wants the CA's client certificate.

use std::io::{Read, Write};

use envoi_testserver::CertKind;
use rustls::{CertificateError, Error};

use crate::support::{client_config, connect_tls, handshake, server};

/// The certificate error a handshake with the listener of `kind` ends in.
fn certificate_error(kind: CertKind, with_crl: bool) -> CertificateError {
    let config = client_config(server(), with_crl, false);
    match handshake(server().tls_addr(kind), config) {
        Err(Error::InvalidCertificate(err)) => err,
        Err(other) => panic!("{kind:?}: expected a certificate error, got {other:?}"),
        Ok(_) => panic!("{kind:?}: handshake succeeded"),
    }
}

#[test]
fn valid_certificate_verifies_against_the_test_ca_and_speaks_http_1_1() {
    let config = client_config(server(), true, false);
    let mut client = connect_tls(server().https_addr(), config.clone()).unwrap();
    let body = client.get("/get").unwrap().json();
    assert!(body["url"]
        .as_str()
        .unwrap()
        .starts_with("https://localhost:"));
    let stream = handshake(server().https_addr(), config).unwrap();
    assert_eq!(stream.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
}

#[test]
fn expired_certificate_fails_as_expired() {
    let err = certificate_error(CertKind::Expired, false);
    assert!(
        matches!(
            err,
            CertificateError::Expired | CertificateError::ExpiredContext { .. }
        ),
        "{err:?}"
    );
}

#[test]
fn not_yet_valid_certificate_fails_as_not_valid_yet() {
    let err = certificate_error(CertKind::NotYetValid, false);
    assert!(
        matches!(
            err,
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. }
        ),
        "{err:?}"
    );
}

#[test]
fn wrong_name_certificate_fails_as_not_valid_for_name() {
    let err = certificate_error(CertKind::WrongName, false);
    assert!(
        matches!(
            err,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        ),
        "{err:?}"
    );
}

#[test]
fn unknown_issuer_certificate_fails_as_unknown_issuer() {
    assert_eq!(
        certificate_error(CertKind::UnknownIssuer, false),
        CertificateError::UnknownIssuer
    );
}

#[test]
fn revoked_certificate_fails_as_revoked_when_the_crl_is_given() {
    assert_eq!(
        certificate_error(CertKind::Revoked, true),
        CertificateError::Revoked
    );
    // Without the CRL nothing marks it: it is otherwise a valid certificate.
    assert!(handshake(
        server().tls_addr(CertKind::Revoked),
        client_config(server(), false, false)
    )
    .is_ok());
}

#[test]
fn expired_wrong_name_certificate_fails_on_one_of_its_faults() {
    let err = certificate_error(CertKind::ExpiredWrongName, false);
    assert!(
        matches!(
            err,
            CertificateError::Expired
                | CertificateError::ExpiredContext { .. }
                | CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. }
        ),
        "{err:?}"
    );
}

#[test]
fn client_auth_listener_rejects_a_client_without_a_certificate() {
    let config = client_config(server(), false, false);
    // With TLS 1.3 the client finishes its side first; the refusal arrives on first read.
    let outcome = handshake(server().client_auth_addr(), config).and_then(|mut stream| {
        let _ = stream.write_all(b"GET /get HTTP/1.1\r\nHost: localhost\r\n\r\n");
        let mut buf = [0u8; 64];
        match stream.read(&mut buf) {
            Ok(0) => Err(Error::General("closed without a response".into())),
            Ok(_) => Ok(()),
            Err(err) => Err(crate::support::rustls_error(err)),
        }
    });
    let err = outcome.expect_err("a client without a certificate must be refused");
    assert!(
        matches!(err, Error::AlertReceived(_) | Error::General(_)),
        "unexpected error {err:?}"
    );
}

#[test]
fn client_auth_listener_accepts_the_issued_client_certificate() {
    let config = client_config(server(), false, true);
    let mut client = connect_tls(server().client_auth_addr(), config).unwrap();
    assert_eq!(client.get("/get").unwrap().status, 200);
}

#[test]
fn ipv6_tls_listener_verifies_for_the_v6_address_when_available() {
    let Some(addr) = server().https_addr_v6() else {
        return;
    };
    // The handshake helper names `localhost`, which the valid certificate also covers.
    let mut client = connect_tls(addr, client_config(server(), false, false)).unwrap();
    assert_eq!(client.get("/ip").unwrap().json()["origin"], "::1");
}

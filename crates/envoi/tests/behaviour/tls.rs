//! Certificate checks: each failure its own kind, each waived by its own flag only.

use crate::support::*;

fn fetch_kind(
    fe: &dyn FrontEnd,
    server: &TestServer,
    kind: CertKind,
    options: envoi::tls::TlsOptions,
) -> Result<Outcome, Error> {
    fe.fetch(builder().tls(options), &get(&server.tls_url(kind, "/get")))
}

pub fn valid_certificate_from_the_test_ca_is_accepted(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let out = fe
        .fetch(tls_builder(&server), &get(&server.https_url("/get")))
        .unwrap();
    assert_eq!(out.status, 200);
}

pub fn each_certificate_failure_has_its_own_kind_and_flag(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    for (kind, expected) in [
        (CertKind::Expired, ErrorKind::CertificateExpired),
        (CertKind::NotYetValid, ErrorKind::CertificateExpired),
        (CertKind::WrongName, ErrorKind::CertificateNameMismatch),
        (CertKind::UnknownIssuer, ErrorKind::CertificateUnknownIssuer),
    ] {
        let error = fetch_kind(fe, &server, kind, tls_options(&server)).unwrap_err();
        assert_eq!(error.kind(), expected, "{kind:?}: {error:#}");
        let flag = error.ignore_flag().expect("a flag waives it");
        assert!(error.to_string().contains(flag.method_name()), "{error}");
    }
}

pub fn each_flag_lets_a_rerun_through_its_own_failure(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let base = tls_options(&server);
    let cases = [
        (
            CertKind::Expired,
            base.clone().ignore_expired_certificate(true),
        ),
        (
            CertKind::WrongName,
            base.clone().ignore_certificate_name(true),
        ),
        (
            CertKind::UnknownIssuer,
            base.clone().ignore_invalid_certificate(true),
        ),
    ];
    for (kind, options) in cases {
        let out = fetch_kind(fe, &server, kind, options);
        assert_eq!(
            out.map(|o| o.status).map_err(|e| e.to_string()),
            Ok(200),
            "{kind:?}"
        );
    }
}

pub fn waiving_expiry_keeps_the_name_check(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let only_expiry = tls_options(&server).ignore_expired_certificate(true);
    let error =
        fetch_kind(fe, &server, CertKind::ExpiredWrongName, only_expiry.clone()).unwrap_err();
    assert_eq!(
        error.kind(),
        ErrorKind::CertificateNameMismatch,
        "{error:#}"
    );
    let both = only_expiry.ignore_certificate_name(true);
    assert_eq!(
        fetch_kind(fe, &server, CertKind::ExpiredWrongName, both)
            .unwrap()
            .status,
        200
    );
}

pub fn revoked_certificate_fails_with_the_crl_and_passes_with_its_flag(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let crls = envoi::tls::Crl::from_pem(server.crl_pem().as_bytes()).unwrap();
    let with_crl = crls
        .into_iter()
        .fold(tls_options(&server), envoi::tls::TlsOptions::add_crl);
    let error = fetch_kind(fe, &server, CertKind::Revoked, with_crl.clone()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::CertificateRevoked, "{error:#}");
    let waived = with_crl.ignore_revocation(true);
    assert_eq!(
        fetch_kind(fe, &server, CertKind::Revoked, waived)
            .unwrap()
            .status,
        200
    );
}

pub fn client_certificate_is_required_and_then_accepted(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let request = get(&server.client_auth_url("/get"));
    let error = fe.fetch(tls_builder(&server), &request).unwrap_err();
    assert_eq!(
        error.kind(),
        ErrorKind::ClientCertificateRequired,
        "{error:#}"
    );
    let identity = envoi::tls::Identity::from_pem(
        server.client_cert_pem().as_bytes(),
        server.client_key_pem().as_bytes(),
    )
    .unwrap();
    let options = tls_options(&server).identity(identity);
    assert_eq!(
        fe.fetch(builder().tls(options), &request).unwrap().status,
        200
    );
}

pub fn a_wrong_pin_fails_even_with_every_flag(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let options = tls_options(&server)
        .ignore_expired_certificate(true)
        .ignore_certificate_name(true)
        .ignore_invalid_certificate(true)
        .ignore_revocation(true)
        .pin_public_key("sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
        .unwrap();
    let error = fe
        .fetch(builder().tls(options), &get(&server.https_url("/get")))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::CertificatePinMismatch, "{error:#}");
}

pub fn large_bodies_over_tls_arrive_whole(fe: &dyn FrontEnd) {
    // Many TLS records per socket read, a record cut by a read, and chunk framing across
    // records: the bytes must match the same body fetched in plain text.
    let server = TestServer::start();
    for path in [
        "/bytes/3000000?seed=11",
        "/stream-bytes/1000000?chunk_size=7000&seed=5",
    ] {
        let plain = fe.fetch(builder(), &get(&server.url(path))).unwrap();
        let tls = fe
            .fetch(tls_builder(&server), &get(&server.https_url(path)))
            .unwrap();
        assert_eq!(plain.body.len(), tls.body.len(), "{path}");
        assert!(plain.body == tls.body, "{path}: the bodies differ");
    }
}

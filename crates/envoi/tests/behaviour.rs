//! The behaviour every front end shares, as one list of tests run through each front end.
//! A topic file under `behaviour/` holds functions that take a [`support::FrontEnd`]; the
//! `behaviours!` list below instantiates each once per front end.

mod support;

#[path = "behaviour/basics.rs"]
mod basics;
#[path = "behaviour/faults.rs"]
mod faults;
#[path = "behaviour/policy.rs"]
mod policy;
#[path = "behaviour/tls.rs"]
mod tls;

/// Instantiates every shared behaviour test for one front end.
macro_rules! behaviours {
    ($front_end:expr) => {
        behaviours!(@tests $front_end;
            basics::get_returns_status_headers_and_json,
            basics::post_body_reaches_the_server,
            basics::expect_100_continue_sends_the_body_as_soon_as_the_server_says_continue,
            basics::multipart_and_urlencoded_forms_reach_the_server_and_survive_a_307,
            basics::large_body_arrives_whole,
            basics::chunked_body_arrives_whole,
            basics::head_response_has_no_body,
            basics::error_status_is_a_response_not_an_error,
            basics::ipv6_loopback_works_when_available,
            basics::resolve_override_reaches_the_given_address,
            basics::an_international_host_name_is_sent_in_its_ascii_form,
            basics::events_carry_each_request_head_as_sent_and_each_response_head,
            faults::truncated_content_length_body_is_an_error,
            faults::chunked_body_without_last_chunk_is_an_error,
            faults::bad_chunk_size_is_a_malformed_response,
            faults::reset_mid_body_is_an_error,
            faults::close_before_response_is_no_response,
            faults::refused_connection_is_cant_connect,
            faults::failing_resolver_is_cant_resolve,
            faults::invalid_header_is_refused_before_connecting,
            faults::slow_server_hits_the_timeout_with_its_phase,
            faults::conflicting_content_lengths_are_malformed,
            faults::huge_header_is_refused,
            faults::unanswered_connect_times_out_in_the_connect_phase,
            faults::silent_tls_server_times_out_in_the_tls_phase,
            faults::server_that_stops_reading_times_out_in_the_send_phase,
            policy::redirects_are_followed_to_the_final_response,
            policy::nine_hops_exceed_the_default_limit_of_eight,
            policy::a_redirect_loop_is_too_many_redirects,
            policy::following_can_be_turned_off,
            policy::post_turns_into_get_on_303_and_keeps_its_body_on_307,
            policy::a_replayable_stream_is_sent_again_on_307_and_a_one_shot_stream_is_refused,
            policy::an_answer_before_the_whole_body_went_out_is_delivered,
            policy::https_to_http_is_refused_then_allowed_with_its_switch,
            policy::strict_mode_also_refuses_http_to_https,
            policy::credentials_never_follow_a_redirect_to_another_origin,
            policy::a_cookie_set_during_a_redirect_is_sent_after_it,
            policy::a_cookie_for_another_domain_is_refused,
            policy::basic_bearer_and_url_credentials_are_sent,
            policy::digest_answers_the_challenge_once,
            policy::compressed_bodies_are_decoded_as_they_stream,
            policy::a_gzip_bomb_stops_at_the_body_limit,
            policy::the_body_limit_applies_without_compression_too,
            policy::a_corrupt_gzip_body_is_decompression_failed,
            policy::a_cancelled_request_ends_as_cancelled,
            policy::retries_are_off_by_default_and_bounded_when_on,
            policy::an_unknown_encoding_passes_through_raw_with_its_header,
            policy::auto_referer_names_the_url_redirected_from,
            policy::connect_failures_are_retried_when_retries_are_on,
            tls::valid_certificate_from_the_test_ca_is_accepted,
            tls::each_certificate_failure_has_its_own_kind_and_flag,
            tls::each_flag_lets_a_rerun_through_its_own_failure,
            tls::waiving_expiry_keeps_the_name_check,
            tls::revoked_certificate_fails_with_the_crl_and_passes_with_its_flag,
            tls::client_certificate_is_required_and_then_accepted,
            tls::a_wrong_pin_fails_even_with_every_flag,
            tls::large_bodies_over_tls_arrive_whole,
        );
    };
    (@tests $front_end:expr; $($module:ident :: $name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                crate::$module::$name(&$front_end);
            }
        )*
    };
}

mod blocking {
    behaviours!(crate::support::Blocking);
}

#[cfg(feature = "poll")]
mod poll {
    behaviours!(crate::support::Poll);
}

#[cfg(feature = "tokio")]
mod async_client {
    behaviours!(crate::support::Async);
}

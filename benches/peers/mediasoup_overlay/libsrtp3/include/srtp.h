/*
 * <srtp.h> for mediasoup's worker on Debian's libsrtp 2.5.
 *
 * mediasoup builds against a libsrtp 3 fork: the policy is an opaque object filled by
 * srtp_policy_*() setters, lengths are size_t, and protect/unprotect write to a separate
 * output buffer whose size is passed in. libsrtp 2 has a plain policy struct and works in
 * place with int lengths. This header includes the libsrtp 2 header, then defines the
 * libsrtp 3 names the worker calls (and only those) as inline adapters.
 */
#ifndef MEDIASOUP_OVERLAY_SRTP3_ON_SRTP2_H
#define MEDIASOUP_OVERLAY_SRTP3_ON_SRTP2_H

#include <srtp2/srtp.h>
#include <stdlib.h>
#include <string.h>

/* Status codes libsrtp 3 added after srtp_err_status_bad_mki (27); the worker names them in
 * its error-string table. */
#define srtp_err_status_buffer_small ((srtp_err_status_t)28)
#define srtp_err_status_cryptex_err ((srtp_err_status_t)29)

/* The libsrtp 3 policy object: a libsrtp 2 policy plus storage for its key, which libsrtp 2
 * reads through a pointer (key then salt, contiguous). */
struct srtp3_policy_object
{
	srtp_policy_t policy;
	unsigned char key_and_salt[SRTP_MAX_KEY_LEN];
};

static inline srtp_err_status_t srtp3_policy_create(struct srtp3_policy_object** result)
{
	struct srtp3_policy_object* object =
	  (struct srtp3_policy_object*)calloc(1, sizeof(struct srtp3_policy_object));

	if (object == NULL)
		return srtp_err_status_alloc_fail;
	object->policy.window_size = 128;
	*result                    = object;

	return srtp_err_status_ok;
}

static inline void srtp3_policy_destroy(struct srtp3_policy_object* object)
{
	free(object);
}

static inline srtp_err_status_t srtp3_policy_set_ssrc(
  struct srtp3_policy_object* object, srtp_ssrc_t ssrc)
{
	object->policy.ssrc = ssrc;

	return srtp_err_status_ok;
}

static inline srtp_err_status_t srtp3_policy_set_profile(
  struct srtp3_policy_object* object, srtp_profile_t profile)
{
	const srtp_err_status_t status =
	  srtp_crypto_policy_set_from_profile_for_rtp(&object->policy.rtp, profile);

	if (status != srtp_err_status_ok)
		return status;

	return srtp_crypto_policy_set_from_profile_for_rtcp(&object->policy.rtcp, profile);
}

static inline srtp_err_status_t srtp3_policy_add_key(
  struct srtp3_policy_object* object,
  const unsigned char* key,
  size_t key_len,
  const unsigned char* salt,
  size_t salt_len,
  const unsigned char* mki,
  size_t mki_len)
{
	(void)mki;
	/* One key, no MKI: all the worker asks for. */
	if (mki_len != 0 || key_len + salt_len > sizeof(object->key_and_salt))
		return srtp_err_status_bad_param;
	memcpy(object->key_and_salt, key, key_len);
	memcpy(object->key_and_salt + key_len, salt, salt_len);
	object->policy.key = object->key_and_salt;

	return srtp_err_status_ok;
}

static inline srtp_err_status_t srtp3_policy_set_allow_repeat_tx(
  struct srtp3_policy_object* object, int allow)
{
	object->policy.allow_repeat_tx = allow != 0;

	return srtp_err_status_ok;
}

static inline srtp_err_status_t srtp3_policy_set_window_size(
  struct srtp3_policy_object* object, size_t window_size)
{
	object->policy.window_size = (unsigned long)window_size;

	return srtp_err_status_ok;
}

static inline srtp_err_status_t srtp3_create(srtp_t* session, struct srtp3_policy_object* object)
{
	return srtp_create(session, &object->policy);
}

/* libsrtp 2 transforms in place; copying the input into the output buffer first gives the
 * libsrtp 3 out-of-place contract. `trailer` is the room the transform may append. */
typedef srtp_err_status_t (*srtp2_in_place_transform)(srtp_t, void*, int*);

static inline srtp_err_status_t srtp3_transform(
  srtp2_in_place_transform transform,
  srtp_t session,
  const unsigned char* input,
  size_t input_len,
  unsigned char* output,
  size_t* output_len,
  size_t trailer)
{
	int len = (int)input_len;
	srtp_err_status_t status;

	if (*output_len < input_len + trailer)
		return srtp_err_status_buffer_small;
	if (output != input)
		memmove(output, input, input_len);
	status      = transform(session, output, &len);
	*output_len = (size_t)len;

	return status;
}

static inline srtp_err_status_t srtp3_protect(
  srtp_t session,
  const unsigned char* rtp,
  size_t rtp_len,
  unsigned char* srtp,
  size_t* srtp_len,
  size_t mki_index)
{
	(void)mki_index;

	return srtp3_transform(srtp_protect, session, rtp, rtp_len, srtp, srtp_len, SRTP_MAX_TRAILER_LEN);
}

static inline srtp_err_status_t srtp3_protect_rtcp(
  srtp_t session,
  const unsigned char* rtcp,
  size_t rtcp_len,
  unsigned char* srtcp,
  size_t* srtcp_len,
  size_t mki_index)
{
	(void)mki_index;

	/* SRTCP also appends the 4-byte E flag and index. */
	return srtp3_transform(
	  srtp_protect_rtcp, session, rtcp, rtcp_len, srtcp, srtcp_len, SRTP_MAX_TRAILER_LEN + 4);
}

static inline srtp_err_status_t srtp3_unprotect(
  srtp_t session, const unsigned char* srtp, size_t srtp_len, unsigned char* rtp, size_t* rtp_len)
{
	return srtp3_transform(srtp_unprotect, session, srtp, srtp_len, rtp, rtp_len, 0);
}

static inline srtp_err_status_t srtp3_unprotect_rtcp(
  srtp_t session, const unsigned char* srtcp, size_t srtcp_len, unsigned char* rtcp, size_t* rtcp_len)
{
	return srtp3_transform(srtp_unprotect_rtcp, session, srtcp, srtcp_len, rtcp, rtcp_len, 0);
}

/* The libsrtp 3 names, as the worker spells them. Defined after the adapters, which call the
 * libsrtp 2 functions of the same names. */
#define srtp_policy_t struct srtp3_policy_object*
#define srtp_policy_create srtp3_policy_create
#define srtp_policy_destroy srtp3_policy_destroy
#define srtp_policy_set_ssrc srtp3_policy_set_ssrc
#define srtp_policy_set_profile srtp3_policy_set_profile
#define srtp_policy_add_key srtp3_policy_add_key
#define srtp_policy_set_allow_repeat_tx srtp3_policy_set_allow_repeat_tx
#define srtp_policy_set_window_size srtp3_policy_set_window_size
#define srtp_create srtp3_create
#define srtp_protect srtp3_protect
#define srtp_protect_rtcp srtp3_protect_rtcp
#define srtp_unprotect srtp3_unprotect
#define srtp_unprotect_rtcp srtp3_unprotect_rtcp
#define srtp_stream_remove srtp_remove_stream

#endif

//! The envelope and canonical decoding.

use mycel_protocol::Error;
use mycel_protocol::error::DecodeError;
use mycel_protocol::task::TaskSpec;
use mycel_protocol::wire::{Envelope, MessageKind, PROTOCOL_VERSION, decode};

use crate::common::matmul_task;

fn decode_err(bytes: &[u8]) -> DecodeError {
    match decode::<TaskSpec>(bytes) {
        Err(Error::Decode(e)) => e,
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[test]
fn round_trip() {
    let t = matmul_task();
    let bytes = t.encode().unwrap();
    assert_eq!(bytes[0], PROTOCOL_VERSION);
    assert_eq!(bytes[1], 0x01);
    assert_eq!(TaskSpec::decode(&bytes).unwrap(), t);
}

#[test]
fn missing_header() {
    assert_eq!(decode_err(&[]), DecodeError::MissingHeader);
    assert_eq!(decode_err(&[1]), DecodeError::MissingHeader);
}

#[test]
fn unknown_version_and_kind() {
    let mut bytes = matmul_task().encode().unwrap();
    bytes[0] = 2;
    assert_eq!(decode_err(&bytes), DecodeError::UnsupportedVersion(2));
    bytes[0] = 0;
    assert_eq!(decode_err(&bytes), DecodeError::UnsupportedVersion(0));
    bytes[0] = 1;
    bytes[1] = 0x7f;
    assert_eq!(decode_err(&bytes), DecodeError::UnknownKind(0x7f));
    bytes[1] = 0x00;
    assert_eq!(decode_err(&bytes), DecodeError::UnknownKind(0));
    bytes[1] = 0x02;
    assert_eq!(
        decode_err(&bytes),
        DecodeError::KindMismatch {
            expected: 1,
            found: 2
        }
    );
}

#[test]
fn truncated_at_every_length() {
    let bytes = matmul_task().encode().unwrap();
    for len in 2..bytes.len() {
        assert_eq!(
            decode_err(&bytes[..len]),
            DecodeError::Truncated,
            "len {len}"
        );
    }
}

#[test]
fn trailing_bytes() {
    let mut bytes = matmul_task().encode().unwrap();
    bytes.push(0);
    assert_eq!(decode_err(&bytes), DecodeError::TrailingBytes);
}

#[test]
fn oversized_is_rejected_before_decoding() {
    let mut bytes = matmul_task().encode().unwrap();
    bytes.resize(MessageKind::TaskSpec.max_envelope_len() + 1, 0);
    assert_eq!(
        decode_err(&bytes),
        DecodeError::TooLarge { len: 257, max: 256 }
    );
    let huge = vec![1u8; mycel_protocol::wire::MAX_ENVELOPE_LEN + 1];
    assert!(matches!(decode_err(&huge), DecodeError::TooLarge { .. }));
}

#[test]
fn non_canonical_varint() {
    // Body: network (32 bytes) then the subnet varint (7 = 0x07) at envelope offset 34.
    let bytes = matmul_task().encode().unwrap();
    assert_eq!(bytes[34], 0x07);
    let mut long = bytes[..34].to_vec();
    long.extend_from_slice(&[0x87, 0x00]); // 7 as a two-byte varint
    long.extend_from_slice(&bytes[35..]);
    assert_eq!(decode_err(&long), DecodeError::NonCanonical);
}

#[test]
fn malformed_enum_tag() {
    // After subnet (1 byte) and epoch (42 = 1 byte) comes the kernel tag at offset 36.
    let mut bytes = matmul_task().encode().unwrap();
    assert_eq!(bytes[36], 0x00);
    bytes[36] = 0x09;
    assert_eq!(decode_err(&bytes), DecodeError::Malformed);
}

#[test]
fn decoded_task_is_validated() {
    // k is the one-byte varint 64 just before weights digest and seed; 65 keeps the length.
    let bytes = matmul_task().encode().unwrap();
    let pos = bytes.len() - 64 - 1;
    assert_eq!(bytes[pos], 64);
    let mut bad = bytes.clone();
    bad[pos] = 65;
    assert_eq!(
        decode::<TaskSpec>(&bad).unwrap_err().code(),
        "task.k_not_block_aligned"
    );
}

#[test]
fn envelope_parse_exposes_kind() {
    let bytes = matmul_task().encode().unwrap();
    let env = Envelope::parse(&bytes).unwrap();
    assert_eq!(env.kind, MessageKind::TaskSpec);
    assert_eq!(env.body, &bytes[2..]);
}

/// Every leaf code of every error enum is distinct and names its area.
#[test]
fn all_error_codes_are_distinct() {
    use mycel_protocol::error::*;
    use std::collections::HashSet;
    let all: Vec<Error> = vec![
        EncodeError::Serializer.into(),
        EncodeError::TooLarge { len: 0, max: 0 }.into(),
        SignatureError::KeyLength.into(),
        SignatureError::SignatureLength.into(),
        SignatureError::ScalarNotReduced.into(),
        SignatureError::NonCanonicalKey.into(),
        SignatureError::KeyNotOnCurve.into(),
        SignatureError::SmallOrderKey.into(),
        SignatureError::NonCanonicalR.into(),
        SignatureError::RNotOnCurve.into(),
        SignatureError::SmallOrderR.into(),
        SignatureError::Equation.into(),
        SignatureError::SignerMismatch.into(),
        TaskError::KernelParamsMismatch.into(),
        TaskError::UnsupportedKernelVersion(0).into(),
        TaskError::ZeroDimension("m").into(),
        TaskError::DimensionTooLarge {
            name: "m",
            value: 0,
            max: 0,
        }
        .into(),
        TaskError::KNotBlockAligned(0).into(),
        TaskError::KvHeadsDoNotDivide {
            n_heads: 0,
            n_kv_heads: 0,
        }
        .into(),
        TaskError::UnsupportedHeadDim(0).into(),
        TaskError::CausalQueryLongerThanKeys.into(),
        TaskError::TooMuchCompute.into(),
        TaskError::TooMuchMemory { bytes: 0, max: 0 }.into(),
        ReceiptError::BadBackendLabel.into(),
        ReceiptError::TimesReversed.into(),
        ReceiptError::NetworkMismatch.into(),
        ReceiptError::SubnetMismatch.into(),
        ReceiptError::EpochMismatch.into(),
        ReceiptError::TaskDigestMismatch.into(),
        ReceiptError::ComputeUnitsMismatch {
            claimed: 0,
            expected: 0,
        }
        .into(),
        ReceiptError::VerdictInconsistent.into(),
        ReceiptError::VerdictReceiptMismatch.into(),
        ReceiptError::BatchTooLarge { len: 0, max: 0 }.into(),
        ReceiptError::BatchMemberMismatch(0).into(),
        ReceiptError::WrongEpoch {
            receipt: 0,
            settling: 0,
        }
        .into(),
        ReceiptError::AssignerMismatch.into(),
        ReceiptError::MinerMismatch.into(),
        ReceiptError::TaskNotIssued.into(),
        ReceiptError::AlreadyCredited.into(),
        ReceiptError::LedgerFull { max: 0 }.into(),
        CommitError::Rank(0).into(),
        CommitError::ZeroDimension.into(),
        CommitError::SizeOverflow.into(),
        CommitError::NotBlockAligned.into(),
        CommitError::LengthMismatch {
            expected: 0,
            actual: 0,
        }
        .into(),
        MerkleError::EmptyTree.into(),
        MerkleError::IndexOutOfRange { index: 0, size: 0 }.into(),
        MerkleError::PathLength.into(),
        MerkleError::RootMismatch.into(),
        KeyError::Randomness.into(),
        KeyError::Length.into(),
    ];
    let codes: HashSet<&str> = all.iter().map(Error::code).collect();
    assert_eq!(codes.len(), all.len());
    for e in &all {
        let (area, leaf) = e.code().split_once('.').unwrap();
        assert!(!leaf.is_empty() && !area.is_empty(), "{}", e.code());
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn error_codes_are_distinct() {
    use std::collections::HashSet;
    let all = [
        DecodeError::MissingHeader,
        DecodeError::TooLarge { len: 0, max: 0 },
        DecodeError::UnsupportedVersion(0),
        DecodeError::UnknownKind(0),
        DecodeError::KindMismatch {
            expected: 0,
            found: 0,
        },
        DecodeError::Truncated,
        DecodeError::Malformed,
        DecodeError::TrailingBytes,
        DecodeError::NonCanonical,
    ];
    let codes: HashSet<_> = all.iter().map(|e| e.code()).collect();
    assert_eq!(codes.len(), all.len());
}

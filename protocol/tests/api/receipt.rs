//! Receipts, verdicts, receipt batches, signed envelopes.

use mycel_protocol::Error;
use mycel_protocol::error::{DecodeError, ReceiptError, SignatureError};
use mycel_protocol::ids::{Digest, SigningKey};
use mycel_protocol::receipt::{
    BackendLabel, MAX_BATCH_RECEIPTS, Outcome, ReceiptBatch, SignedReceipt, SignedVerdict, Verdict,
};
use mycel_protocol::sign::{Signed, verify, verify_signed_batch, verify_signed_batch_with_seed};
use mycel_protocol::task::KernelParams;
use mycel_protocol::wire::{AnyMessage, MessageKind, decode, encode};
use sha2::{Digest as _, Sha256};

use crate::common::{matmul_task, miner_key, other_hotkey, receipt, signed_receipt, validator_key};

#[test]
fn signed_receipt_round_trip_and_verify() {
    let r = signed_receipt(1);
    r.verify().unwrap();
    assert_eq!(r.verify_and_id().unwrap(), r.id().unwrap());
    let bytes = encode(&r).unwrap();
    assert_eq!(&bytes[..2], &[1, 0x02]);
    let back: SignedReceipt = decode(&bytes).unwrap();
    assert_eq!(back, r);
    back.verify().unwrap();
    r.body.check_task(&matmul_task()).unwrap();
}

#[test]
fn receipt_id_is_sha256_of_tagged_body() {
    let r = signed_receipt(1);
    let bytes = encode(&r).unwrap();
    // Envelope = 2 header bytes, body, 64 signature bytes.
    let body = &bytes[2..bytes.len() - 64];
    let mut tagged = b"mycel/v1/receipt\x00".to_vec();
    tagged.extend_from_slice(body);
    assert_eq!(r.id().unwrap().0, <[u8; 32]>::from(Sha256::digest(&tagged)));
    assert_eq!(r.signed_bytes().unwrap(), tagged);
    // The signature is over exactly those bytes.
    verify(&r.body.miner.0, &tagged, &r.signature.0).unwrap();
    // A different signature over the same body leaves the id unchanged.
    let mut r2 = r.clone();
    r2.signature.0[63] ^= 0x01;
    assert_eq!(r2.id().unwrap(), r.id().unwrap());
}

#[test]
fn tampered_signature_or_field_fails() {
    let r = signed_receipt(1);
    let mut bad = r.clone();
    bad.signature.0[10] ^= 0x80;
    assert!(matches!(bad.verify(), Err(Error::Signature(_))));
    let mut bad = r.clone();
    bad.body.compute_units += 1;
    assert_eq!(
        bad.verify(),
        Err(Error::Signature(SignatureError::Equation))
    );
    let mut bad = r.clone();
    bad.body.nonce = 2;
    assert_eq!(
        bad.verify(),
        Err(Error::Signature(SignatureError::Equation))
    );
}

#[test]
fn wrong_domain_tag_fails() {
    let r = receipt(1);
    let body = postcard_body(&r);
    for tag in [
        &b"mycel/v1/verdict\x00"[..],
        b"mycel/v1/receipt",
        b"mycel/v2/receipt\x00",
        b"",
    ] {
        let mut msg = tag.to_vec();
        msg.extend_from_slice(&body);
        let sig = miner_key().sign_raw(&msg);
        let signed = Signed {
            body: r.clone(),
            signature: sig,
        };
        assert_eq!(
            signed.verify(),
            Err(Error::Signature(SignatureError::Equation)),
            "{tag:?}"
        );
    }
}

fn postcard_body(r: &mycel_protocol::receipt::WorkReceipt) -> Vec<u8> {
    mycel_protocol::sign::body_bytes(r).unwrap()
}

#[test]
fn signer_must_match() {
    assert_eq!(
        Signed::sign(receipt(1), &validator_key()),
        Err(Error::Signature(SignatureError::SignerMismatch))
    );
}

#[test]
fn receipt_checked_against_task() {
    let task = matmul_task();
    let err = |f: &dyn Fn(&mut mycel_protocol::receipt::WorkReceipt)| {
        let mut r = receipt(1);
        f(&mut r);
        match r.check_task(&task) {
            Err(Error::Receipt(e)) => e,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(err(&|r| r.network.0[0] ^= 1), ReceiptError::NetworkMismatch);
    assert_eq!(err(&|r| r.subnet.0 += 1), ReceiptError::SubnetMismatch);
    assert_eq!(err(&|r| r.epoch.0 += 1), ReceiptError::EpochMismatch);
    assert_eq!(
        err(&|r| r.task_digest.0[31] ^= 1),
        ReceiptError::TaskDigestMismatch
    );
    assert_eq!(
        err(&|r| r.compute_units = 4095),
        ReceiptError::ComputeUnitsMismatch {
            claimed: 4095,
            expected: 4096
        }
    );
    // A receipt for another task (different k) has another digest.
    let mut other = task;
    other.params = KernelParams::Matmul { m: 4, n: 8, k: 96 };
    assert_eq!(
        receipt(1).check_task(&other),
        Err(Error::Receipt(ReceiptError::TaskDigestMismatch))
    );
}

#[test]
fn backend_label_and_times_rules() {
    assert!(BackendLabel::new(&"x".repeat(32)).is_ok());
    assert_eq!(
        BackendLabel::new(&"x".repeat(33)),
        Err(Error::Receipt(ReceiptError::BadBackendLabel))
    );
    assert_eq!(
        BackendLabel::new("tab\there"),
        Err(Error::Receipt(ReceiptError::BadBackendLabel))
    );
    assert_eq!(
        BackendLabel::new("é"),
        Err(Error::Receipt(ReceiptError::BadBackendLabel))
    );
    let mut r = receipt(1);
    r.finished_at_ms = r.started_at_ms - 1;
    assert_eq!(
        Signed::sign(r, &miner_key()),
        Err(Error::Receipt(ReceiptError::TimesReversed))
    );

    // A decoded receipt whose label has a control byte is rejected by the decoder.
    let bytes = encode(&signed_receipt(1)).unwrap();
    let pos = bytes.windows(10).position(|w| w == b"cpu-scalar").unwrap();
    let mut bad = bytes.clone();
    bad[pos] = 0x07;
    assert_eq!(
        decode::<SignedReceipt>(&bad),
        Err(Error::Receipt(ReceiptError::BadBackendLabel))
    );
    // Invalid UTF-8 is malformed.
    bad[pos] = 0xff;
    assert_eq!(
        decode::<SignedReceipt>(&bad),
        Err(Error::Decode(DecodeError::Malformed))
    );
}

#[test]
fn receipt_decode_rejections() {
    let bytes = encode(&signed_receipt(1)).unwrap();
    for len in 0..bytes.len() {
        let e = decode::<SignedReceipt>(&bytes[..len]).unwrap_err();
        let expected = if len < 2 {
            "decode.missing_header"
        } else {
            "decode.truncated"
        };
        assert_eq!(e.code(), expected, "len {len}");
    }
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(
        decode::<SignedReceipt>(&long),
        Err(Error::Decode(DecodeError::TrailingBytes))
    );
    long.resize(513, 0);
    assert_eq!(
        decode::<SignedReceipt>(&long),
        Err(Error::Decode(DecodeError::TooLarge { len: 513, max: 512 }))
    );
    // compute_units (4096) is a two-byte varint; an over-long three-byte form is non-canonical.
    let cu = [0x80, 0x20];
    let pos = bytes.windows(2).position(|w| w == cu).unwrap();
    let mut nc = bytes[..pos].to_vec();
    nc.extend_from_slice(&[0x80, 0xa0, 0x00]);
    nc.extend_from_slice(&bytes[pos + 2..]);
    assert_eq!(
        decode::<SignedReceipt>(&nc),
        Err(Error::Decode(DecodeError::NonCanonical))
    );
    // Decoding a receipt as a verdict is a kind mismatch.
    assert_eq!(
        decode::<SignedVerdict>(&bytes),
        Err(Error::Decode(DecodeError::KindMismatch {
            expected: 3,
            found: 2
        }))
    );
}

#[test]
fn batch_with_one_bad_receipt_in_the_middle() {
    let mut receipts: Vec<SignedReceipt> = (0..64).map(signed_receipt).collect();
    receipts[31].body.output_commitment.0[0] ^= 1; // changed after signing
    let results = verify_signed_batch_with_seed(&receipts, &[9; 32]);
    let failed: Vec<(usize, &Error)> = results
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().err().map(|e| (i, e)))
        .collect();
    assert_eq!(
        failed,
        vec![(31, &Error::Signature(SignatureError::Equation))]
    );
    // Same with OS randomness, and the single verdicts agree.
    let results = verify_signed_batch(&receipts).unwrap();
    for (r, batch) in receipts.iter().zip(&results) {
        assert_eq!(r.verify(), *batch);
    }
    // A structurally invalid receipt in a batch reports its own error.
    receipts[5].body.finished_at_ms = 0;
    let results = verify_signed_batch_with_seed(&receipts, &[9; 32]);
    assert_eq!(results[5], Err(Error::Receipt(ReceiptError::TimesReversed)));
    assert!(results[4].is_ok() && results[6].is_ok());
}

fn verdict(outcome: Outcome, commitment: Option<Digest>) -> Verdict {
    Verdict {
        validator: validator_key().hotkey(),
        receipt_id: signed_receipt(1).id().unwrap(),
        outcome,
        recomputed_commitment: commitment,
    }
}

#[test]
fn verdicts() {
    let r = signed_receipt(1);
    let claimed = r.body.output_commitment;
    let v = Signed::sign(verdict(Outcome::Match, Some(claimed)), &validator_key()).unwrap();
    v.verify().unwrap();
    v.body.check_receipt(&r).unwrap();
    let bytes = encode(&v).unwrap();
    assert_eq!(&bytes[..2], &[1, 0x03]);
    assert_eq!(decode::<SignedVerdict>(&bytes).unwrap(), v);

    let other = Digest([0x99; 32]);
    verdict(Outcome::Mismatch, Some(other))
        .check_receipt(&r)
        .unwrap();
    verdict(Outcome::Unchecked, None).check_receipt(&r).unwrap();
    let inconsistent = Err(Error::Receipt(ReceiptError::VerdictInconsistent));
    assert_eq!(
        verdict(Outcome::Match, Some(other)).check_receipt(&r),
        inconsistent
    );
    assert_eq!(
        verdict(Outcome::Mismatch, Some(claimed)).check_receipt(&r),
        inconsistent
    );
    // Outcome and commitment presence must agree even without the receipt.
    let e = Error::Receipt(ReceiptError::VerdictInconsistent);
    assert_eq!(
        Signed::sign(verdict(Outcome::Match, None), &validator_key()).unwrap_err(),
        e
    );
    assert_eq!(
        Signed::sign(verdict(Outcome::Unchecked, Some(claimed)), &validator_key()).unwrap_err(),
        e
    );
    // A verdict about another receipt.
    assert_eq!(
        verdict(Outcome::Unchecked, None).check_receipt(&signed_receipt(2)),
        Err(Error::Receipt(ReceiptError::VerdictReceiptMismatch))
    );
    // The receipt's signature does not verify as a verdict's (domain separation by signer and tag).
    let forged = Signed {
        body: v.body.clone(),
        signature: r.signature,
    };
    assert!(forged.verify().is_err());
}

fn batch(n: u64) -> ReceiptBatch {
    let t = matmul_task();
    ReceiptBatch {
        network: t.network,
        subnet: t.subnet,
        epoch: t.epoch,
        receipts: (0..n).map(signed_receipt).collect(),
    }
}

#[test]
fn receipt_batch_root_and_proofs() {
    let b = batch(5);
    let bytes = encode(&b).unwrap();
    assert_eq!(&bytes[..2], &[1, 0x04]);
    assert_eq!(decode::<ReceiptBatch>(&bytes).unwrap(), b);
    let root = b.root().unwrap();
    let ids: Vec<[u8; 32]> = b.receipts.iter().map(|r| r.id().unwrap().0).collect();
    assert_eq!(root, mycel_protocol::commit::merkle_root(&ids));
    for (i, id) in ids.iter().enumerate() {
        let p = b.proof(i as u64).unwrap();
        p.verify(id, &root).unwrap();
        assert!(p.verify(&ids[(i + 1) % 5], &root).is_err());
    }
    // Members must belong to the batch's network, subnet and epoch.
    let mut bad = batch(3);
    bad.receipts[1] = {
        let mut r = receipt(1);
        r.epoch.0 += 1;
        Signed::sign(r, &miner_key()).unwrap()
    };
    assert_eq!(
        encode(&bad),
        Err(Error::Receipt(ReceiptError::BatchMemberMismatch(1)))
    );
    // The count bound.
    let mut big = batch(1);
    big.receipts = vec![big.receipts[0].clone(); MAX_BATCH_RECEIPTS + 1];
    assert_eq!(
        encode(&big),
        Err(Error::Receipt(ReceiptError::BatchTooLarge {
            len: MAX_BATCH_RECEIPTS + 1,
            max: MAX_BATCH_RECEIPTS
        }))
    );
    // Empty batch: empty-tree root.
    assert_eq!(
        batch(0).root().unwrap(),
        mycel_protocol::commit::empty_root()
    );
}

#[test]
fn any_message_decodes_every_kind() {
    let r = signed_receipt(1);
    let v = Signed::sign(verdict(Outcome::Unchecked, None), &validator_key()).unwrap();
    let msgs = [
        AnyMessage::Task(matmul_task()),
        AnyMessage::Receipt(r),
        AnyMessage::Verdict(v),
        AnyMessage::ReceiptBatch(batch(2)),
    ];
    for (m, kind) in msgs.iter().zip(MessageKind::ALL) {
        let bytes = m.encode().unwrap();
        let back = AnyMessage::decode(&bytes).unwrap();
        assert_eq!(&back, m);
        assert_eq!(back.kind(), kind);
    }
}

#[test]
fn signing_key_from_slice() {
    assert!(SigningKey::from_seed_slice(&[1; 31]).is_err());
    assert_eq!(
        SigningKey::from_seed_slice(&[1; 32]).unwrap().hotkey(),
        miner_key().hotkey()
    );
    assert_ne!(other_hotkey(), miner_key().hotkey());
}

#[test]
fn huge_declared_counts_fail_without_allocating_them() {
    // A batch header (network, subnet 7, epoch 42) followed by a receipt count of 2^32 − 1.
    let mut bytes = vec![1u8, 0x04];
    bytes.extend_from_slice(&[0x11; 32]);
    bytes.extend_from_slice(&[7, 42]);
    bytes.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert_eq!(
        decode::<ReceiptBatch>(&bytes),
        Err(Error::Decode(DecodeError::Truncated))
    );
    // A backend label claiming 2^32 − 1 bytes.
    let good = encode(&signed_receipt(1)).unwrap();
    let pos = good
        .windows(11)
        .position(|w| w == b"\x0acpu-scalar")
        .unwrap();
    let mut bad = good[..pos].to_vec();
    bad.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    bad.extend_from_slice(b"cpu-scalar");
    assert_eq!(
        decode::<SignedReceipt>(&bad),
        Err(Error::Decode(DecodeError::Truncated))
    );
}

mod binding {
    //! Hole 4 of issue #19: one execution credited several times. A validator credits only
    //! receipts it assigned, for a task it issued to that miner, in the epoch it is settling,
    //! once per (assigner, task digest). One test per replay.
    use super::*;
    use mycel_protocol::ids::{Epoch, NetworkId, SubnetId};
    use mycel_protocol::receipt::{CreditLedger, ReceiptBinding, WorkReceipt};

    fn expected() -> ReceiptBinding {
        let task = matmul_task();
        ReceiptBinding {
            network: task.network,
            subnet: task.subnet,
            epoch: task.epoch,
            assigner: validator_key().hotkey(),
            miner: miner_key().hotkey(),
            task_digest: task.digest().unwrap(),
        }
    }

    fn err(r: &WorkReceipt) -> ReceiptError {
        match r.check_binding(&expected()) {
            Err(Error::Receipt(e)) => e,
            other => panic!("expected a receipt error, got {other:?}"),
        }
    }

    #[test]
    fn the_issued_receipt_is_credited_once() {
        let r = receipt(1);
        assert_eq!(r.check_binding(&expected()), Ok(()));
        let mut ledger = CreditLedger::default();
        assert_eq!(ledger.credit(&r, &expected()), Ok(()));
        assert!(ledger.is_credited(&r.assigner, &r.task_digest));
        assert_eq!(ledger.len(), 1);
        // The same execution again, and re-signed with fresh nonces: new receipt ids, no
        // new credit.
        for nonce in [1, 2, 3, u64::MAX] {
            let again = receipt(nonce);
            assert_eq!(again.check_binding(&expected()), Ok(()));
            let e = ledger.credit(&again, &expected()).unwrap_err();
            assert_eq!(e, Error::Receipt(ReceiptError::AlreadyCredited));
            assert_eq!(e.code(), "receipt.already_credited");
        }
        assert_ne!(
            signed_receipt(1).id().unwrap(),
            signed_receipt(2).id().unwrap()
        );
        assert_eq!(ledger.len(), 1);
    }

    #[test]
    fn replay_to_another_validator_is_refused() {
        // Sent to every validator: the assigner is the one that issued it.
        let mut r = receipt(1);
        r.assigner = other_hotkey();
        assert_eq!(err(&r), ReceiptError::AssignerMismatch);
        assert_eq!(
            Error::from(ReceiptError::AssignerMismatch).code(),
            "receipt.assigner_mismatch"
        );
    }

    #[test]
    fn replay_in_a_later_epoch_is_refused() {
        let mut r = receipt(1);
        r.epoch = Epoch(41);
        assert_eq!(
            err(&r),
            ReceiptError::WrongEpoch {
                receipt: 41,
                settling: 42
            }
        );
        // The ledger refuses it before looking it up.
        let mut ledger = CreditLedger::default();
        assert_eq!(
            ledger.credit(&r, &expected()).unwrap_err().code(),
            "receipt.wrong_epoch"
        );
        assert!(ledger.is_empty());
    }

    #[test]
    fn replay_across_subnets_and_networks_is_refused() {
        let mut r = receipt(1);
        r.subnet = SubnetId(8);
        assert_eq!(err(&r), ReceiptError::SubnetMismatch);
        let mut r = receipt(1);
        r.network = NetworkId([0x12; 32]);
        assert_eq!(err(&r), ReceiptError::NetworkMismatch);
    }

    #[test]
    fn another_miners_work_or_task_is_refused() {
        // A receipt by another miner for the task issued to this one.
        let mut r = receipt(1);
        r.miner = other_hotkey();
        assert_eq!(err(&r), ReceiptError::MinerMismatch);
        // A receipt for a task this validator did not issue to this miner (e.g. another
        // miner's task, whose input seed differs).
        let mut other = matmul_task();
        other.input_seed = [0x99; 32];
        let mut r = receipt(1);
        r.task_digest = other.digest().unwrap();
        assert_eq!(err(&r), ReceiptError::TaskNotIssued);
        assert_eq!(
            Error::from(ReceiptError::TaskNotIssued).code(),
            "receipt.task_not_issued"
        );
    }

    #[test]
    fn ledger_is_bounded_and_restorable() {
        let mut ledger = CreditLedger::new(1);
        assert_eq!(ledger.credit(&receipt(1), &expected()), Ok(()));
        let mut other_task = matmul_task();
        other_task.input_seed = [0x98; 32];
        let mut r = receipt(2);
        r.task_digest = other_task.digest().unwrap();
        let mut exp = expected();
        exp.task_digest = r.task_digest;
        assert_eq!(
            ledger.credit(&r, &exp).unwrap_err(),
            Error::Receipt(ReceiptError::LedgerFull { max: 1 })
        );
        let saved = serde_json::to_string(&ledger).unwrap();
        let back: CreditLedger = serde_json::from_str(&saved).unwrap();
        assert_eq!(back, ledger);
        ledger.clear();
        assert_eq!(ledger.credit(&r, &exp), Ok(()));
    }
}

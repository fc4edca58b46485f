//! Envelope and message decoding: whatever the bytes, a typed error or a message whose
//! canonical encoding is exactly the input (spec/wire.md: one encoding per value).

use mycel_protocol::Error;
use mycel_protocol::commit::merkle::leaf_hash;
use mycel_protocol::receipt::{ReceiptBatch, SignedReceipt, SignedVerdict};
use mycel_protocol::sign::verify_signed_batch_with_seed;
use mycel_protocol::task::TaskSpec;
use mycel_protocol::wire::{AnyMessage, Envelope, MessageKind, PROTOCOL_VERSION, decode};

/// A decode error must carry a stable, non-empty code in its family.
fn check_error(e: &Error) {
    let code = e.code();
    assert!(
        code.contains('.') && !code.is_empty(),
        "bad error code {code:?}"
    );
}

/// Compares a typed decode with the kind-dispatching one: the typed decoder of the envelope's
/// kind gives the same message, every other typed decoder refuses.
fn agrees<M: PartialEq + core::fmt::Debug>(
    typed: &Result<M, Error>,
    any: &Result<AnyMessage, Error>,
    pick: impl Fn(&AnyMessage) -> Option<&M>,
) {
    match (typed, any) {
        (Ok(t), Ok(a)) => assert_eq!(Some(t), pick(a), "typed and any decoders disagree"),
        (Ok(t), Err(e)) => panic!("typed decoder accepted {t:?}, any decoder refused: {e}"),
        (Err(e), Ok(a)) => {
            assert!(pick(a).is_none(), "typed decoder refused {a:?}: {e}");
            check_error(e);
        }
        (Err(e), Err(_)) => check_error(e),
    }
}

/// The envelope oracle: [`AnyMessage::decode`] and the four typed decoders agree; a decoded
/// message re-encodes to exactly `bytes`; its derived values (ids, digests, signature verdicts,
/// batch root and inclusion proofs) are computed without a panic and consistently.
pub fn check_envelope(bytes: &[u8]) {
    let any = AnyMessage::decode(bytes);
    let env = Envelope::parse(bytes);
    if any.is_ok() {
        let env = env.as_ref().expect("a decodable envelope parses");
        assert_eq!(env.version, PROTOCOL_VERSION);
    }
    agrees(&decode::<TaskSpec>(bytes), &any, |m| match m {
        AnyMessage::Task(t) => Some(t),
        _ => None,
    });
    agrees(&decode::<SignedReceipt>(bytes), &any, |m| match m {
        AnyMessage::Receipt(r) => Some(r),
        _ => None,
    });
    agrees(&decode::<SignedVerdict>(bytes), &any, |m| match m {
        AnyMessage::Verdict(v) => Some(v),
        _ => None,
    });
    agrees(&decode::<ReceiptBatch>(bytes), &any, |m| match m {
        AnyMessage::ReceiptBatch(b) => Some(b),
        _ => None,
    });
    let msg = match any {
        Ok(m) => m,
        Err(e) => return check_error(&e),
    };
    let again = msg.encode().expect("a decoded message re-encodes");
    assert_eq!(again, bytes, "decoded message is not canonical");
    assert_eq!(
        Some(msg.kind()),
        bytes.get(1).copied().and_then(MessageKind::from_code)
    );
    match &msg {
        AnyMessage::Task(t) => {
            t.validate().expect("a decoded task is valid");
            t.compute_units().expect("a valid task has a price");
            assert_eq!(t.encode().expect("re-encodes"), bytes);
        }
        AnyMessage::Receipt(r) => {
            let id = r.id().expect("a decoded receipt has an id");
            match r.verify_and_id() {
                Ok(vid) => assert_eq!(vid, id),
                Err(e) => check_error(&e),
            }
        }
        AnyMessage::Verdict(v) => {
            v.id().expect("a decoded verdict has an id");
            if let Err(e) = v.verify() {
                check_error(&e);
            }
        }
        AnyMessage::ReceiptBatch(b) => check_batch(b),
        other => panic!("a kind this target does not know: {:?}", other.kind()),
    }
}

/// A decoded batch: batch verification gives each receipt its single verdict, and every
/// receipt has an inclusion proof that verifies against the batch root (and not another's).
pub fn check_batch(b: &ReceiptBatch) {
    let single: Vec<_> = b.receipts.iter().map(|r| r.verify()).collect();
    let batched = verify_signed_batch_with_seed(&b.receipts, &[7; 32]);
    assert_eq!(single, batched, "batch verdicts differ from single ones");
    let tree = b.tree().expect("a decoded batch has a tree");
    let root = tree.root();
    assert_eq!(root, b.root().expect("root"));
    for (i, r) in b.receipts.iter().enumerate() {
        let id = r.id().expect("id");
        assert_eq!(tree.leaf_hashes().get(i), Some(&leaf_hash(&id.0)));
        let proof = b.proof(i as u64).expect("every receipt has a proof");
        proof
            .verify(&id.0, &root)
            .expect("inclusion proof verifies");
        if let Some(other) = b.receipts.get(i + 1) {
            let other_id = other.id().expect("id");
            if other_id != id {
                assert!(
                    proof.verify(&other_id.0, &root).is_err(),
                    "proof of {i} proves {}",
                    i + 1
                );
            }
        }
    }
    assert!(b.proof(b.receipts.len() as u64).is_err());
}

/// A per-kind target: `body` is wrapped in a version-1 envelope of `kind`, so the fuzzer spends
/// its time inside that kind's body decoder.
pub fn check_body(kind: MessageKind, body: &[u8]) {
    let mut bytes = Vec::with_capacity(body.len() + 2);
    bytes.push(PROTOCOL_VERSION);
    bytes.push(kind.code());
    bytes.extend_from_slice(body);
    check_envelope(&bytes);
}

//! One tile at a time (spec/receipts.md §8b): every tile recomputed alone, on every CPU
//! backend, equals the same tile of the full execution; weights generated row by row equal the
//! whole matrix's rows; the row-by-row digests equal the digests of the whole matrix.

use mycel_kernels::exec::{execute, generate_weights, weights_digest};
use mycel_kernels::quant::QuantFormat;
use mycel_kernels::tile::{
    generate_weight_rows, generated_weights_digest, rows_root, task_tile, task_tile_rect,
    tile_compute_units, tile_leaves,
};
use mycel_kernels::{Backend, Error, cpu};
use mycel_protocol::commit::{merkle_root, weight_row_leaf_hash};
use mycel_protocol::ids::{Digest, Epoch, NetworkId, SubnetId};
use mycel_protocol::opening::TileGrid;
use mycel_protocol::task::{
    AttnDtype, AttnMode, KERNEL_VERSION, KERNEL_VERSION_ROWS, KernelId, KernelParams, TaskSpec,
};

/// A small deterministic generator for shapes (SplitMix64).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.next() % u64::from(hi - lo + 1)) as u32
    }
}

fn backends() -> Vec<Backend> {
    let mut b = vec![Backend::Scalar, Backend::Auto];
    if cpu::avx2_available() {
        b.push(Backend::Avx2);
    }
    b
}

fn task(kernel: KernelId, version: u16, params: KernelParams, seed: u8) -> TaskSpec {
    TaskSpec {
        network: NetworkId([1; 32]),
        subnet: SubnetId(1),
        epoch: Epoch(0),
        kernel,
        kernel_version: version,
        params,
        weights_digest: Digest([0; 32]),
        input_seed: [seed; 32],
    }
}

#[test]
fn every_matmul_tile_equals_the_full_output_on_every_backend() {
    let mut rng = Rng(7);
    for case in 0..8u8 {
        let format = if case % 2 == 0 {
            QuantFormat::Q8_0
        } else {
            QuantFormat::Q4_0
        };
        let kernel = match format {
            QuantFormat::Q8_0 => KernelId::MatmulQ8_0,
            QuantFormat::Q4_0 => KernelId::MatmulQ4_0,
        };
        let (m, n, k) = (rng.range(1, 40), rng.range(1, 600), 32 * rng.range(1, 8));
        let version = if case % 4 < 2 {
            KERNEL_VERSION
        } else {
            KERNEL_VERSION_ROWS
        };
        let mut t = task(kernel, version, KernelParams::Matmul { m, n, k }, case);
        let w = generate_weights(&[case ^ 0x55; 32], format, n as usize, k as usize).unwrap();
        t.weights_digest = if version == KERNEL_VERSION_ROWS {
            rows_root(format, &w, k as usize).unwrap()
        } else {
            weights_digest(&w)
        };
        let full = execute(&t, Some(&w), Backend::Scalar, 1).unwrap();
        let leaves = tile_leaves(&full.output).unwrap();
        assert_eq!(merkle_root(&leaves), full.tile_root);
        let grid = TileGrid::of_task(&t);
        assert_eq!(grid.count(), leaves.len() as u64);
        let row_bytes = format.matrix_bytes(1, k as usize).unwrap();
        for (i, leaf) in leaves.iter().enumerate() {
            let rect = task_tile_rect(&t, i as u64).unwrap();
            let rows = &w[rect.col0 as usize * row_bytes..rect.col1 as usize * row_bytes];
            for &b in &backends() {
                let got = task_tile(&t, &rect, Some(rows), b).unwrap();
                assert_eq!(&got, leaf, "{format:?} m={m} n={n} k={k} tile {i} {b:?}");
            }
            assert_eq!(
                tile_compute_units(&t, &rect),
                2 * rect.rows() * rect.cols() * u64::from(k)
            );
        }
        // Wrong rows: refused by length; another row range: another tile.
        let rect = task_tile_rect(&t, 0).unwrap();
        assert!(matches!(
            task_tile(
                &t,
                &rect,
                Some(&w[..row_bytes * rect.cols() as usize - 1]),
                Backend::Scalar
            ),
            Err(Error::BufferLength { .. })
        ));
        assert!(task_tile(&t, &rect, None, Backend::Scalar).is_err());
        assert!(task_tile_rect(&t, grid.count()).is_err());
    }
}

#[test]
fn every_attention_tile_equals_the_full_output_on_every_backend() {
    let mut rng = Rng(11);
    for case in 0..10u8 {
        let n_kv = [1, 2, 4][rng.range(0, 2) as usize];
        let n_heads = n_kv * [1, 2, 4][rng.range(0, 2) as usize];
        let causal = case % 2 == 1;
        let kv_len = rng.range(1, 200);
        let q_len = if causal {
            rng.range(1, kv_len.min(40))
        } else {
            rng.range(1, 40)
        };
        let head_dim = if case % 3 == 0 { 128 } else { 64 };
        let dtype = [AttnDtype::F32, AttnDtype::F16, AttnDtype::Bf16][case as usize % 3];
        let params = KernelParams::Attention {
            n_heads,
            n_kv_heads: n_kv,
            q_len,
            kv_len,
            head_dim,
            causal,
            dtype,
            mode: AttnMode::Verifiable,
        };
        let t = task(KernelId::Attention, KERNEL_VERSION, params, case);
        let full = execute(&t, None, Backend::Scalar, 1).unwrap();
        let leaves = tile_leaves(&full.output).unwrap();
        for (i, leaf) in leaves.iter().enumerate() {
            let rect = task_tile_rect(&t, i as u64).unwrap();
            for &b in &backends() {
                let got = task_tile(&t, &rect, None, b).unwrap();
                assert_eq!(&got, leaf, "{params:?} tile {i} {b:?}");
            }
        }
    }
    // Fast mode has no tile bits.
    let fast = task(
        KernelId::Attention,
        KERNEL_VERSION,
        KernelParams::Attention {
            n_heads: 2,
            n_kv_heads: 1,
            q_len: 4,
            kv_len: 8,
            head_dim: 64,
            causal: false,
            dtype: AttnDtype::F32,
            mode: AttnMode::Fast,
        },
        1,
    );
    let rect = task_tile_rect(&fast, 0).unwrap();
    assert!(matches!(
        task_tile(&fast, &rect, None, Backend::Scalar),
        Err(Error::UnsupportedKernel(_))
    ));
}

#[test]
fn weights_generated_row_by_row_are_the_whole_matrix() {
    for format in [QuantFormat::Q8_0, QuantFormat::Q4_0] {
        let (n, k) = (37usize, 96usize);
        let seed = [9u8; 32];
        let whole = generate_weights(&seed, format, n, k).unwrap();
        let row = format.matrix_bytes(1, k).unwrap();
        for (a, b) in [(0, 1), (3, 17), (36, 37), (0, 37)] {
            assert_eq!(
                generate_weight_rows(&seed, format, k, a, b).unwrap(),
                whole[a * row..b * row]
            );
        }
        assert_eq!(
            generated_weights_digest(&seed, format, n, k, false).unwrap(),
            weights_digest(&whole)
        );
        let leaves: Vec<Digest> = whole.chunks(row).map(weight_row_leaf_hash).collect();
        let root = mycel_protocol::commit::MerkleTree::from_leaf_hashes(leaves).root();
        assert_eq!(rows_root(format, &whole, k).unwrap(), root);
        assert_eq!(
            generated_weights_digest(&seed, format, n, k, true).unwrap(),
            root
        );
    }
}

#[test]
fn a_version_2_task_needs_its_row_root() {
    let (m, n, k) = (3u32, 40u32, 64u32);
    let w = generate_weights(&[5; 32], QuantFormat::Q8_0, n as usize, k as usize).unwrap();
    let mut t = task(
        KernelId::MatmulQ8_0,
        KERNEL_VERSION_ROWS,
        KernelParams::Matmul { m, n, k },
        3,
    );
    // The version-1 digest is not the version-2 digest.
    t.weights_digest = weights_digest(&w);
    assert!(matches!(
        execute(&t, Some(&w), Backend::Scalar, 1),
        Err(Error::WeightsDigest { .. })
    ));
    t.weights_digest = rows_root(QuantFormat::Q8_0, &w, k as usize).unwrap();
    let v2 = execute(&t, Some(&w), Backend::Scalar, 1).unwrap();
    // Same computation as version 1: the same output.
    let mut t1 = t;
    t1.kernel_version = KERNEL_VERSION;
    t1.weights_digest = weights_digest(&w);
    let v1 = execute(&t1, Some(&w), Backend::Scalar, 1).unwrap();
    assert_eq!(v1.commitment, v2.commitment);
    assert_eq!(v1.tile_root, v2.tile_root);
}

//! Philox4x32-10 against Random123's known-answer vectors, and the input-generation rule
//! against an independent Python reference (tests/support/philox_ref.py).

use mycel_kernels::philox::{
    fill_uniform, generate_uniform, philox4x32_10, philox4x32_rounds, u32_to_f32,
};

#[test]
fn random123_known_answers() {
    // Random123 tests/kat_vectors, the "philox4x32 7" and "philox4x32 10" lines.
    assert_eq!(
        philox4x32_10([0, 0, 0, 0], [0, 0]),
        [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
    );
    assert_eq!(
        philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
        [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
    );
    assert_eq!(
        philox4x32_10(
            [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
            [0xa4093822, 0x299f31d0]
        ),
        [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
    );
    assert_eq!(
        philox4x32_rounds(
            7,
            [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
            [0xa4093822, 0x299f31d0]
        ),
        [0x4dfccaba, 0x190a87f0, 0xc47362ba, 0xb6b5242a]
    );
}

#[test]
fn mapping_is_exact_and_in_range() {
    assert_eq!(u32_to_f32(0), -1.0);
    assert_eq!(u32_to_f32(0xFF), -1.0);
    assert_eq!(u32_to_f32(0x8000_0000), 0.0);
    assert_eq!(u32_to_f32(u32::MAX), 1.0 - 1.0 / 8_388_608.0);
    assert_eq!(u32_to_f32(0x0000_0100), -1.0 + 1.0 / 8_388_608.0);
}

#[test]
fn independent_reference_golden() {
    let golden = include_str!("../data/philox_golden.txt");
    let mut n = 0;
    for line in golden.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split(' ').collect();
        let seed: [u8; 32] = hex::decode(f[0]).unwrap().try_into().unwrap();
        let stream: u32 = f[1].parse().unwrap();
        let offset: u64 = f[2].parse().unwrap();
        let count: usize = f[3].parse().unwrap();
        let want: Vec<u32> = f[4]
            .split(',')
            .map(|h| u32::from_str_radix(h, 16).unwrap())
            .collect();
        let mut got = vec![0.0f32; count];
        fill_uniform(&seed, stream, offset, &mut got).unwrap();
        assert_eq!(
            got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            want,
            "{line}"
        );
        n += 1;
    }
    assert_eq!(n, 12);
}

#[test]
fn partial_fills_equal_one_fill() {
    let seed = [7u8; 32];
    let all = generate_uniform(&seed, 0, 103).unwrap();
    for split in [0usize, 1, 3, 4, 5, 50, 102, 103] {
        let mut a = vec![0.0; split];
        let mut b = vec![0.0; 103 - split];
        fill_uniform(&seed, 0, 0, &mut a).unwrap();
        fill_uniform(&seed, 0, split as u64, &mut b).unwrap();
        a.extend(b);
        assert_eq!(a, all);
    }
    assert!(all.iter().all(|v| (-1.0..1.0).contains(v)));
    // Streams differ.
    assert_ne!(generate_uniform(&seed, 1, 103).unwrap(), all);
}

#[test]
fn oversized_ranges_are_rejected() {
    let mut v = [0.0f32; 4];
    assert!(fill_uniform(&[0; 32], 0, u64::MAX - 1, &mut v).is_err());
}

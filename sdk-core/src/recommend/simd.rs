//! The ranker's inner product: `i8` × `i8` summed in `i32`. With wasm SIMD128 (the browser
//! build), 16 lanes at a time; elsewhere, plain Rust. Both give the same integer.

/// `Σ a[k] · b[k]` over the shorter length.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    use core::arch::wasm32::*;
    let n = a.len().min(b.len());
    let whole = n / 16 * 16;
    let mut acc = i32x4_splat(0);
    let mut k = 0;
    while k < whole {
        // SAFETY: k + 16 <= whole <= n, both slices have at least n elements, and wasm loads
        // need no alignment.
        let (va, vb) =
            unsafe { (v128_load(a.as_ptr().add(k).cast::<v128>()), v128_load(b.as_ptr().add(k).cast::<v128>())) };
        acc = i32x4_add(acc, i32x4_dot_i16x8(i16x8_extend_low_i8x16(va), i16x8_extend_low_i8x16(vb)));
        acc = i32x4_add(acc, i32x4_dot_i16x8(i16x8_extend_high_i8x16(va), i16x8_extend_high_i8x16(vb)));
        k += 16;
    }
    let mut sum = i32x4_extract_lane::<0>(acc)
        + i32x4_extract_lane::<1>(acc)
        + i32x4_extract_lane::<2>(acc)
        + i32x4_extract_lane::<3>(acc);
    for k in whole..n {
        sum += i32::from(a[k]) * i32::from(b[k]);
    }
    sum
}

/// `Σ a[k] · b[k]` over the shorter length.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    a.iter().zip(b).map(|(x, y)| i32::from(*x) * i32::from(*y)).sum()
}

/// The visitor vector (64 × i8) widened once to i16 lanes, for [`dot_64`].
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[derive(Clone, Copy)]
pub struct Wide64([core::arch::wasm32::v128; 8]);

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn widen_64(v: &[i8]) -> Wide64 {
    use core::arch::wasm32::*;
    assert!(v.len() >= 64);
    let mut out = [i32x4_splat(0); 8];
    for k in 0..4 {
        // SAFETY: k * 16 + 16 <= 64 <= len; wasm loads need no alignment.
        let x = unsafe { v128_load(v.as_ptr().add(k * 16).cast::<v128>()) };
        out[2 * k] = i16x8_extend_low_i8x16(x);
        out[2 * k + 1] = i16x8_extend_high_i8x16(x);
    }
    Wide64(out)
}

/// `Σ v[k] · b[k]` over 64 components, straight-line (no loop, one horizontal sum).
///
/// # Safety
/// `b` must point at 64 readable bytes.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
pub unsafe fn dot_64(v: &Wide64, b: *const i8) -> i32 {
    use core::arch::wasm32::*;
    let w = &v.0;
    let b0 = v128_load(b.cast::<v128>());
    let b1 = v128_load(b.add(16).cast::<v128>());
    let b2 = v128_load(b.add(32).cast::<v128>());
    let b3 = v128_load(b.add(48).cast::<v128>());
    let a0 = i32x4_add(
        i32x4_dot_i16x8(w[0], i16x8_extend_low_i8x16(b0)),
        i32x4_dot_i16x8(w[1], i16x8_extend_high_i8x16(b0)),
    );
    let a1 = i32x4_add(
        i32x4_dot_i16x8(w[2], i16x8_extend_low_i8x16(b1)),
        i32x4_dot_i16x8(w[3], i16x8_extend_high_i8x16(b1)),
    );
    let a2 = i32x4_add(
        i32x4_dot_i16x8(w[4], i16x8_extend_low_i8x16(b2)),
        i32x4_dot_i16x8(w[5], i16x8_extend_high_i8x16(b2)),
    );
    let a3 = i32x4_add(
        i32x4_dot_i16x8(w[6], i16x8_extend_low_i8x16(b3)),
        i32x4_dot_i16x8(w[7], i16x8_extend_high_i8x16(b3)),
    );
    let acc = i32x4_add(i32x4_add(a0, a1), i32x4_add(a2, a3));
    let acc = i32x4_add(acc, i32x4_shuffle::<2, 3, 0, 1>(acc, acc));
    let acc = i32x4_add(acc, i32x4_shuffle::<1, 0, 3, 2>(acc, acc));
    i32x4_extract_lane::<0>(acc)
}

/// Sums `bytes` as fast as this build can read them: the memory-bandwidth floor the benchmark
/// compares the ranker against (it reads the same number of bytes).
pub fn touch_sum(bytes: &[u8]) -> u32 {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use core::arch::wasm32::*;
        let whole = bytes.len() / 64 * 64;
        let (mut a, mut b, mut c, mut d) = (u8x16_splat(0), u8x16_splat(0), u8x16_splat(0), u8x16_splat(0));
        let mut k = 0;
        while k < whole {
            // SAFETY: k + 64 <= whole <= len; wasm loads need no alignment.
            unsafe {
                let p = bytes.as_ptr().add(k);
                a = i8x16_add(a, v128_load(p.cast::<v128>()));
                b = i8x16_add(b, v128_load(p.add(16).cast::<v128>()));
                c = i8x16_add(c, v128_load(p.add(32).cast::<v128>()));
                d = i8x16_add(d, v128_load(p.add(48).cast::<v128>()));
            }
            k += 64;
        }
        let all = i8x16_add(i8x16_add(a, b), i8x16_add(c, d));
        let lanes: [u8; 16] = unsafe { core::mem::transmute(all) };
        lanes.iter().chain(&bytes[whole..]).fold(0u32, |s, x| s.wrapping_add(u32::from(*x)))
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        bytes.iter().fold(0u32, |s, x| s.wrapping_add(u32::from(*x)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_the_definition_at_every_length() {
        for n in 0..70 {
            let a: Vec<i8> = (0..n).map(|k| (k * 37 % 255) as i8).collect();
            let b: Vec<i8> = (0..n).map(|k| (127 - k * 11 % 255) as i8).collect();
            let expected: i32 = a.iter().zip(&b).map(|(x, y)| *x as i32 * *y as i32).sum();
            assert_eq!(dot_i8(&a, &b), expected, "length {n}");
        }
        assert_eq!(dot_i8(&[-128; 64], &[-128; 64]), 64 * 128 * 128);
    }
}

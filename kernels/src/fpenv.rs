//! The floating-point environment the kernels run in (spec/kernels.md §1): round to nearest
//! even, subnormals neither flushed on output (FTZ) nor read as zero on input (DAZ).
//!
//! A host may run with other settings (code built with fast-math sets FTZ and DAZ on x86, and
//! a thread created by such a thread inherits them). Every kernel entry point therefore holds a
//! [`Guard`] for its whole run, and each pool job holds one on its pool thread: the guard puts
//! the control state to the default if it differs and puts the caller's back when dropped, so
//! the caller sees its own settings again, and the exception status flags it had are kept.
//!
//! * x86-64: MXCSR. Control bits (DAZ, the six exception masks, rounding control, FTZ) are set
//!   to the power-on default `0x1F80` (all exceptions masked, nearest even, no FTZ/DAZ).
//! * aarch64: FPCR. Set to 0 (nearest even, no flush-to-zero, IEEE NaN propagation, no trap
//!   enables, no alternate half-precision or FIZ/AH modes).
//! * Other targets (wasm32 has a fixed environment), and Miri (which has no inline assembly and
//!   always computes with the default environment): nothing to do.

#![allow(unsafe_code)]

/// Holds the default floating-point environment on this thread until dropped, then restores
/// the control state that was there before.
#[derive(Debug)]
#[must_use = "the environment is restored when the guard is dropped"]
pub(crate) struct Guard {
    /// The caller's control state when it differed from the default (restored on drop).
    saved: Option<Word>,
}

#[cfg(all(target_arch = "x86_64", not(miri)))]
type Word = u32;
#[cfg(all(target_arch = "aarch64", not(miri)))]
type Word = u64;
#[cfg(any(miri, not(any(target_arch = "x86_64", target_arch = "aarch64"))))]
type Word = ();

impl Guard {
    /// Puts this thread's control state to the default (if it is not already).
    #[inline]
    pub(crate) fn new() -> Guard {
        let cur = imp::read();
        if imp::is_default(cur) {
            return Guard { saved: None };
        }
        imp::write(imp::with_default_control(cur));
        Guard { saved: Some(cur) }
    }
}

impl Drop for Guard {
    #[inline]
    fn drop(&mut self) {
        if let Some(saved) = self.saved {
            imp::write(imp::restore(saved, imp::read()));
        }
    }
}

#[cfg(all(target_arch = "x86_64", not(miri)))]
mod imp {
    use super::Word;

    /// MXCSR control bits: DAZ (6), the exception masks (7–12), rounding control (13–14), FTZ
    /// (15). Bits 0–5 are the sticky exception status flags.
    const CONTROL: Word = 0xFFC0;
    /// The default control state: every exception masked, round to nearest even, no FTZ/DAZ.
    const DEFAULT: Word = 0x1F80;

    #[inline]
    pub(super) fn read() -> Word {
        let mut v: Word = 0;
        // SAFETY: `stmxcsr` stores the 4-byte MXCSR at the given address, which is `v`.
        unsafe {
            core::arch::asm!(
                "stmxcsr [{p}]",
                p = in(reg) &mut v,
                options(nostack, preserves_flags),
            );
        }
        v
    }

    #[inline]
    pub(super) fn write(v: Word) {
        // SAFETY: `ldmxcsr` loads MXCSR from `v`; every value written here has the reserved
        // bits (16–31) clear, as read from the register itself.
        unsafe {
            core::arch::asm!(
                "ldmxcsr [{p}]",
                p = in(reg) &v,
                options(nostack, preserves_flags, readonly),
            );
        }
    }

    #[inline]
    pub(super) fn is_default(v: Word) -> bool {
        v & CONTROL == DEFAULT
    }

    #[inline]
    pub(super) fn with_default_control(v: Word) -> Word {
        (v & !CONTROL) | DEFAULT
    }

    /// The saved control bits with the status flags raised since (so none is lost).
    #[inline]
    pub(super) fn restore(saved: Word, now: Word) -> Word {
        (saved & CONTROL) | ((saved | now) & !CONTROL & 0xFFFF)
    }
}

#[cfg(all(target_arch = "aarch64", not(miri)))]
mod imp {
    use super::Word;

    #[inline]
    pub(super) fn read() -> Word {
        let v: Word;
        // SAFETY: reading FPCR has no side effects.
        unsafe {
            core::arch::asm!("mrs {v}, fpcr", v = out(reg) v, options(nomem, nostack, preserves_flags));
        }
        v
    }

    #[inline]
    pub(super) fn write(v: Word) {
        // SAFETY: FPCR takes any value read from it, and 0 (the architectural default).
        unsafe {
            core::arch::asm!("msr fpcr, {v}", v = in(reg) v, options(nomem, nostack, preserves_flags));
        }
    }

    #[inline]
    pub(super) fn is_default(v: Word) -> bool {
        v == 0
    }

    #[inline]
    pub(super) fn with_default_control(_v: Word) -> Word {
        0
    }

    /// FPCR holds control bits only (the status flags live in FPSR, which is left alone).
    #[inline]
    pub(super) fn restore(saved: Word, _now: Word) -> Word {
        saved
    }
}

#[cfg(any(miri, not(any(target_arch = "x86_64", target_arch = "aarch64"))))]
mod imp {
    use super::Word;

    #[inline]
    pub(super) fn read() -> Word {}

    #[inline]
    pub(super) fn write(_v: Word) {}

    #[inline]
    pub(super) fn is_default(_v: Word) -> bool {
        true
    }

    #[inline]
    pub(super) fn with_default_control(_v: Word) -> Word {}

    #[inline]
    pub(super) fn restore(_saved: Word, _now: Word) -> Word {}
}

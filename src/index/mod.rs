//! In-memory indexes built from the store, consulted before touching disk.

pub(crate) mod catch_up;
pub(crate) mod follow;
pub mod known;
pub(crate) mod live;
pub mod prints;
pub(crate) mod saved;
pub mod status;

/// A zeroed table of `len` slots for an index probed at random.
///
/// On Linux the table is advised to use transparent huge pages: with 4 KiB
/// pages, every probe into a table of hundreds of megabytes also misses the
/// TLB, and the page walk costs about as much as the probe itself. The advice
/// is given before any page is touched, so faults bring in huge pages from
/// the start. (Elsewhere, or when the kernel declines, it is an ordinary
/// table.)
pub(crate) fn zeroed_table<T: Word>(len: usize) -> Vec<T> {
    let table = T::zeroed(len);
    #[cfg(target_os = "linux")]
    advise_huge_pages(&table);
    table
}

/// The integer types an index table holds: `vec![0; len]` of them is one
/// zeroed allocation (pages the kernel maps on first touch), not a fill.
pub(crate) trait Word: Copy {
    fn zeroed(len: usize) -> Vec<Self>;
}

impl Word for u64 {
    fn zeroed(len: usize) -> Vec<u64> {
        vec![0; len]
    }
}

impl Word for u32 {
    fn zeroed(len: usize) -> Vec<u32> {
        vec![0; len]
    }
}

#[cfg(target_os = "linux")]
fn advise_huge_pages<T>(table: &[T]) {
    const HUGE: usize = 2 << 20;
    let start = table.as_ptr() as usize;
    let end = start + std::mem::size_of_val(table);
    // Only whole huge pages inside the allocation.
    let (first, last) = (start.div_ceil(HUGE) * HUGE, end / HUGE * HUGE);
    if first < last {
        // SAFETY: the range lies inside `table`'s allocation, and
        // MADV_HUGEPAGE changes only how the kernel backs it, never its
        // contents or validity.
        unsafe {
            libc::madvise(
                first as *mut libc::c_void,
                last - first,
                libc::MADV_HUGEPAGE,
            );
        }
    }
}

/// MurmurHash3's 64-bit finalizer: every input bit affects every output bit.
/// Both in-memory indexes hash subject keys with it.
#[inline]
pub(crate) fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

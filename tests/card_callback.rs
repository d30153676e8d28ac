#![cfg(feature = "alsa")]
//! The sound card's real-time callback (`audio::output::fill`) and the PulseAudio I/O
//! thread's copy (`audio::output::pulse_take`) take no lock and allocate nothing: counted
//! here with an allocator that counts per thread. The callback plays what the ring holds
//! in order, silence when the ring runs dry, and folds stereo to a mono device; the
//! PulseAudio copy hands over whole frames only, and nothing when the ring is dry.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use loaxa::audio::output::fill;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn the_callback_plays_the_ring_in_order_then_silence_and_allocates_nothing() {
    let (mut producer, mut consumer) = rtrb::RingBuffer::<f32>::new(48_000);
    // 1,000 stereo frames: left = n/1000, right = -n/1000.
    for n in 0..1000 {
        producer.push(n as f32 / 1000.0).unwrap();
        producer.push(-(n as f32) / 1000.0).unwrap();
    }
    // A six-channel device asks for 1,200 frames: 1,000 from the ring, 200 of silence.
    let mut out = vec![1.0f32; 1200 * 6];
    let before = allocations();
    fill(&mut out, 6, &mut consumer);
    let during = allocations() - before;
    assert_eq!(during, 0, "the callback allocated {during} times");
    for (n, frame) in out.chunks(6).enumerate() {
        let (l, r) = if n < 1000 {
            (n as f32 / 1000.0, -(n as f32) / 1000.0)
        } else {
            (0.0, 0.0)
        };
        assert_eq!(frame, [l, r, 0.0, 0.0, 0.0, 0.0], "frame {n}");
    }
    assert_eq!(consumer.slots(), 0);
}

#[test]
fn a_mono_device_of_integers_hears_both_channels_without_allocating() {
    let (mut producer, mut consumer) = rtrb::RingBuffer::<f32>::new(64);
    for _ in 0..8 {
        producer.push(0.5).unwrap();
        producer.push(0.25).unwrap();
    }
    let mut out = vec![0i16; 10];
    let before = allocations();
    fill(&mut out, 1, &mut consumer);
    assert_eq!(allocations() - before, 0);
    let expected: i16 = <i16 as cpal::Sample>::from_sample(0.375f32);
    assert!((12_000..12_400).contains(&expected));
    assert!(out[..8].iter().all(|&s| s == expected), "{out:?}");
    assert_eq!(&out[8..], &[0, 0]);
}

#[test]
fn the_pulseaudio_copy_hands_over_whole_frames_in_order_without_allocating() {
    let (mut producer, mut consumer) = rtrb::RingBuffer::<f32>::new(64);
    for n in 0..5 {
        producer.push(n as f32).unwrap();
        producer.push(-(n as f32)).unwrap();
    }
    // Room for 3 frames and a half: 3 whole frames go.
    let mut buf = vec![0xAAu8; 3 * 8 + 4];
    let before = allocations();
    let n = loaxa::audio::output::pulse_take(&mut buf, &mut consumer);
    let rest = loaxa::audio::output::pulse_take(&mut buf[n..], &mut consumer);
    assert_eq!(allocations() - before, 0);
    assert_eq!((n, rest), (24, 0));
    let got: Vec<f32> = buf[..n]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(got, [0.0, -0.0, 1.0, -1.0, 2.0, -2.0]);
    assert_eq!(&buf[n..], &[0xAA; 4], "half a frame is left alone");
    // Two frames are left for the next request, then the ring is dry.
    let mut more = vec![0u8; 64];
    assert_eq!(
        loaxa::audio::output::pulse_take(&mut more, &mut consumer),
        16
    );
    assert_eq!(
        loaxa::audio::output::pulse_take(&mut more, &mut consumer),
        0
    );
}

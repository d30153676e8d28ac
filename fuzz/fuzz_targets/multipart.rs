#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| loaxa::fuzzing::multipart(data));

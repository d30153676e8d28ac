//! The provincial feed (SPEC §7): the signed manifest format, and the province's tools
//! that build and sign a static feed directory (`loaxa keygen`, `loaxa feed …`).

pub mod admin;
pub mod manifest;
pub mod sync;
pub mod vet;

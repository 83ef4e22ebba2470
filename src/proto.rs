//! Generated gRPC and proto3-JSON code for `hotline.routing.v1` (see `build.rs`).
#![allow(clippy::all, missing_docs)]

pub mod v1 {
    tonic::include_proto!("hotline.routing.v1");
    include!(concat!(env!("OUT_DIR"), "/hotline.routing.v1.serde.rs"));
}

/// Encoded `FileDescriptorSet` of every proto the service uses, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/hotline_descriptor.bin"));

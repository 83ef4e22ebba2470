//! Compiles `proto/` without a system `protoc`: protox parses the protos in-process, tonic-prost-build
//! generates the messages and the service, pbjson-build generates the proto3 JSON mapping (so the
//! CLI's JSON and the wire schema are one), and the encoded descriptor set is written for gRPC
//! server reflection (protox does not write one itself).

use std::{env, fs, path::PathBuf};

const PROTO: &str = "proto/hotline/routing/v1/routing.proto";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let out = PathBuf::from(env::var("OUT_DIR")?);

    let compiler = {
        let mut c = protox::Compiler::new(["proto"])?;
        c.include_imports(true).include_source_info(true);
        c.open_file(PROTO)?;
        c
    };
    let descriptor_bytes = compiler.encode_file_descriptor_set();
    fs::write(out.join("hotline_descriptor.bin"), &descriptor_bytes)?;

    // Timestamp comes from pbjson-types so that it has the proto3 JSON mapping (RFC 3339 strings).
    tonic_prost_build::configure()
        .extern_path(".google.protobuf.Timestamp", "::pbjson_types::Timestamp")
        // Decode failures are the caller's fault: INVALID_ARGUMENT, not INTERNAL.
        .codec_path("crate::server::codec::ProtoCodec")
        .compile_fds(compiler.file_descriptor_set())?;

    pbjson_build::Builder::new()
        .register_descriptors(&descriptor_bytes)?
        .extern_path(".google.protobuf", "::pbjson_types")
        .emit_fields()
        .build(&[".hotline"])?;
    Ok(())
}

//! Generated gRPC and proto3-JSON code for `hotline.routing.v1` (see `build.rs`).
#![allow(clippy::all, missing_docs)]

pub mod v1 {
    tonic::include_proto!("hotline.routing.v1");
    include!(concat!(env!("OUT_DIR"), "/hotline.routing.v1.serde.rs"));
}

impl v1::RouteResponse {
    /// The outcome's proto name (`OUTCOME_DISPATCH`, ...), for logs, metrics and reports.
    pub fn outcome_name(&self) -> &'static str {
        v1::Outcome::try_from(self.outcome)
            .unwrap_or(v1::Outcome::Unspecified)
            .as_str_name()
    }

    /// The lead department's id, or "" when the request was not dispatched.
    pub fn department_id(&self) -> &str {
        self.department.as_ref().map_or("", |d| d.id.as_str())
    }
}

/// Encoded `FileDescriptorSet` of every proto the service uses, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/hotline_descriptor.bin"));

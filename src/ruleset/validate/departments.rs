//! The `departments` section: who can be sent an order.

use super::super::diagnostic::{Code, Diagnostics, SourceLocation};
use super::super::ids::{check_id, one_of};
use super::super::raw::RawDepartment;
use super::super::{Department, DepartmentKind};

/// One department of the `departments` section, checked.
pub(crate) fn department(file: &str, raw: &RawDepartment, diags: &mut Diagnostics) -> Department {
    check_id("department", file, &raw.id, diags);
    let kind = one_of(
        "department kind",
        Code::UnknownKind,
        &DepartmentKind::NAMES,
        DepartmentKind::parse,
        file,
        &raw.kind,
        diags,
    )
    .unwrap_or(DepartmentKind::Other);
    if raw.name.trim().is_empty() {
        diags.error(
            Code::EmptyValue,
            SourceLocation::of(file, &raw.id),
            format!("department \"{}\" has an empty name", raw.id.value),
        );
    }
    Department {
        id: raw.id.value.clone(),
        name: raw.name.clone(),
        aliases: raw.aliases.clone(),
        kind,
        location: SourceLocation::of(file, &raw.id),
    }
}

//! The `departments` section: who can be sent an order.

use super::super::diagnostic::{Code, Diagnostics, SourceLocation, did_you_mean};
use super::super::ids::{IdTable, check_id};
use super::super::load::SourceFile;
use super::super::{Department, DepartmentKind};

/// Every department of every file, in file order, with the table their ids resolve through.
pub(crate) fn validate(
    files: &[SourceFile],
    diags: &mut Diagnostics,
) -> (Vec<Department>, IdTable) {
    let mut departments = Vec::new();
    let mut ids = IdTable::new("department", Code::UnknownDepartment);
    for f in files {
        for d in &f.raw.departments {
            let (raw, file) = (&d.value, f.name.as_str());
            check_id("department", file, &raw.id, diags);
            if ids
                .define(&raw.id.value, SourceLocation::of(file, &raw.id), diags)
                .is_none()
            {
                continue;
            }
            let kind = DepartmentKind::parse(&raw.kind.value).unwrap_or_else(|| {
                diags.error(
                    Code::UnknownKind,
                    SourceLocation::of(file, &raw.kind),
                    format!(
                        "unknown department kind \"{}\"; use one of {}{}",
                        raw.kind.value,
                        DepartmentKind::NAMES.join(", "),
                        did_you_mean(&raw.kind.value, DepartmentKind::NAMES)
                    ),
                );
                DepartmentKind::Other
            });
            if raw.name.trim().is_empty() {
                diags.error(
                    Code::EmptyValue,
                    SourceLocation::of(file, &raw.id),
                    format!("department \"{}\" has an empty name", raw.id.value),
                );
            }
            departments.push(Department {
                id: raw.id.value.clone(),
                name: raw.name.clone(),
                aliases: raw.aliases.clone(),
                kind,
                location: SourceLocation::of(file, &raw.id),
            });
        }
    }
    (departments, ids)
}

//! The open maintenance jobs, read with every equipment sync and kept beside the tools'
//! status, so `GET /api/resource/jobs/open` and the equipment page's alerts are answered
//! from memory with the same filters as the status (a job follows its tool).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::db::maintenance::MaintenanceJob;

/// One open job as the API, the page and Redis carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenJob {
    pub job_id: String,
    pub job_order: Option<String>,
    pub status: String,
    pub stage: Option<String>,
    pub equipment_id: String,
    pub model: Option<String>,
    pub created_at: DateTime<Utc>,
    pub symptom_code: Option<String>,
    pub technician: Option<String>,
}

impl From<MaintenanceJob> for OpenJob {
    fn from(job: MaintenanceJob) -> Self {
        OpenJob {
            job_id: job.job_id,
            job_order: job.job_order,
            status: job.status,
            stage: job.stage,
            equipment_id: job.equipment_id,
            model: job.model,
            created_at: job.created_at,
            symptom_code: job.symptom_code,
            technician: job.technician,
        }
    }
}

/// Longest open first (then by id, for a stable order).
pub fn sort(jobs: &mut [OpenJob]) {
    jobs.sort_by(|a, b| (a.created_at, &a.job_id).cmp(&(b.created_at, &b.job_id)));
}

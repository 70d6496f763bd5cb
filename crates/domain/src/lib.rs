//! dealerbase domain: the dealer's vocabulary as types, and the rules over them.
//!
//! Architecture invariant: this crate does no IO (no files, no network, no database, no
//! reading of the system clock). Rules that depend on the date take a [`Clock`] or a date.

pub mod aftersales;
pub mod attribution;
pub mod campaign;
pub mod class;
pub mod clock;
pub mod dates;
pub mod error;
pub mod kpi;
pub mod loyalty;
pub mod lunar;
pub mod mask;
pub mod messaging;
pub mod mobile;
pub mod model;
pub mod money;
pub mod plate;
pub mod resident_id;
pub mod sales;
pub mod segment;
pub mod text;
pub mod vin;
pub mod workdays;

pub use clock::{Clock, FixedClock, SystemClock};
pub use error::{Lang, Rule, ValidationError};
pub use mobile::Mobile;
pub use plate::Plate;
pub use resident_id::{Gender, IdType, ResidentId};
pub use vin::Vin;

//! Integration tests of bearing-certify: real clients (bearing-auth's `TokenManager` and
//! scripted clients with one deliberate flaw each) certified against the in-process sandbox
//! gateway through the bundled `smoke` plan, plus the run's lifecycle and the reports.

mod clients;
mod lifecycle;
mod reports;
mod run;

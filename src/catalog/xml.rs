//! Safe XML reading (merged from the XML parser work).

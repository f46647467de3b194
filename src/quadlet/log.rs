//! (written by the generator mechanics work: log)

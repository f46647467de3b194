//! (written by the generator mechanics work: install)

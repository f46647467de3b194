//! (written by the generator mechanics work: generator)

//! (written by the generator mechanics work: paths)

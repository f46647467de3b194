//! (written by the generator mechanics work: dropins)

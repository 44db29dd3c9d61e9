// Token embedding: out[t, :] = table[token[t], :], and its gradient.
#pragma once

#include "galore/core/tensor.hpp"
#include "galore/model/tokens.hpp"

namespace galore {

// tokens [batch, seq], table [vocab, hidden], out [batch*seq, hidden]. Ids outside the table
// throw ShapeError.
template <class T>
void embedding_forward(const ExecSpace& space, TokenMatrix tokens, MatrixRef<const T> table,
                       MatrixRef<T> out);

// d_table[token[t], :] += d_out[t, :] (fp32). Deterministic: each column is summed by one thread
// in token order, so repeated tokens never race and the result does not depend on thread count.
template <class T>
void embedding_backward(const ExecSpace& space, TokenMatrix tokens, MatrixRef<const T> d_out,
                        MatrixRef<float> d_table);

}  // namespace galore

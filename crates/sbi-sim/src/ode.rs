//! Adaptive explicit Runge-Kutta ODE solver for the SIR and Lotka-Volterra tasks.

// This CPU's limits, measured beside the attention bench (benches/README.md, attention section):
// the clock from a dependent integer add chain (1 add per cycle) and the f32 FMA peak from 12
// independent 256-bit FMA chains per thread (2 FMA/cycle x 8 lanes x 2 FLOP on AVX2 cores).
// Build and run: gcc -O2 -o /tmp/fma_peak benches/peers/fma_peak.c -lpthread && /tmp/fma_peak 2
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <pthread.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static void* fmaloop(void*a){ long n=(long)a;
 __asm__ volatile(
 "vxorps %%ymm0,%%ymm0,%%ymm0\n vxorps %%ymm1,%%ymm1,%%ymm1\n vxorps %%ymm2,%%ymm2,%%ymm2\n vxorps %%ymm3,%%ymm3,%%ymm3\n"
 "vxorps %%ymm4,%%ymm4,%%ymm4\n vxorps %%ymm5,%%ymm5,%%ymm5\n vxorps %%ymm6,%%ymm6,%%ymm6\n vxorps %%ymm7,%%ymm7,%%ymm7\n"
 "vxorps %%ymm8,%%ymm8,%%ymm8\n vxorps %%ymm9,%%ymm9,%%ymm9\n vxorps %%ymm10,%%ymm10,%%ymm10\n vxorps %%ymm11,%%ymm11,%%ymm11\n"
 "1:\n"
 "vfmadd231ps %%ymm14,%%ymm15,%%ymm0\n vfmadd231ps %%ymm14,%%ymm15,%%ymm1\n vfmadd231ps %%ymm14,%%ymm15,%%ymm2\n vfmadd231ps %%ymm14,%%ymm15,%%ymm3\n"
 "vfmadd231ps %%ymm14,%%ymm15,%%ymm4\n vfmadd231ps %%ymm14,%%ymm15,%%ymm5\n vfmadd231ps %%ymm14,%%ymm15,%%ymm6\n vfmadd231ps %%ymm14,%%ymm15,%%ymm7\n"
 "vfmadd231ps %%ymm14,%%ymm15,%%ymm8\n vfmadd231ps %%ymm14,%%ymm15,%%ymm9\n vfmadd231ps %%ymm14,%%ymm15,%%ymm10\n vfmadd231ps %%ymm14,%%ymm15,%%ymm11\n"
 "dec %0\n jnz 1b\n" : "+r"(n) :: "ymm0","ymm1","ymm2","ymm3","ymm4","ymm5","ymm6","ymm7","ymm8","ymm9","ymm10","ymm11","cc");
 return 0;}
static void* addloop(void*a){ long n=(long)a, x=0; __asm__ volatile("1:\n add $1,%1\n add $1,%1\n add $1,%1\n add $1,%1\n dec %0\n jnz 1b\n":"+r"(n),"+r"(x)::"cc"); return 0;}
int main(int c,char**v){ int T=atoi(v[1]); long N=100000000; pthread_t th[4];
 double t=now(); addloop((void*)N); double e=now()-t; printf("clock ~%.2f GHz\n", 4.0*N/e/1e9);
 t=now(); for(int i=0;i<T;i++) pthread_create(&th[i],0,fmaloop,(void*)N); for(int i=0;i<T;i++) pthread_join(th[i],0); e=now()-t;
 printf("%d threads FMA: %.1f GFLOP/s\n",T,T*N*12.0*16/e/1e9);}

/*
 * main.h — COMPILE-CHECK STUB, not for the board. The real main.h comes from
 * the CubeMX project (it pulls in the STM32CubeF7 HAL, which Debian does not
 * package). This stub declares only the HAL names board_port.c uses, with
 * the HAL's types and signatures, so `make arm` can compile board_port.c
 * warning-free for the Cortex-M7.
 */
#ifndef BOARD_CHECK_MAIN_H
#define BOARD_CHECK_MAIN_H

#include <stdint.h>

typedef enum { HAL_OK = 0x00U, HAL_ERROR = 0x01U, HAL_BUSY = 0x02U, HAL_TIMEOUT = 0x03U } HAL_StatusTypeDef;
typedef enum { GPIO_PIN_RESET = 0U, GPIO_PIN_SET } GPIO_PinState;
typedef struct {
    volatile uint32_t MODER, OTYPER, OSPEEDR, PUPDR, IDR, ODR, BSRR, LCKR, AFR[2];
} GPIO_TypeDef;
typedef struct __UART_HandleTypeDef {
    void *Instance;
} UART_HandleTypeDef;

void HAL_GPIO_WritePin(GPIO_TypeDef *GPIOx, uint16_t GPIO_Pin, GPIO_PinState PinState);
HAL_StatusTypeDef HAL_UART_Receive_IT(UART_HandleTypeDef *huart, uint8_t *pData, uint16_t Size);
HAL_StatusTypeDef HAL_UART_Transmit(UART_HandleTypeDef *huart, const uint8_t *pData, uint16_t Size,
                                    uint32_t Timeout);
void HAL_UART_RxCpltCallback(UART_HandleTypeDef *huart);
void HAL_UART_ErrorCallback(UART_HandleTypeDef *huart);
uint32_t ITM_SendChar(uint32_t ch);

#define GPIOB ((GPIO_TypeDef *)0x40020400UL)
/* NUCLEO-F767ZI user LEDs, as CubeMX names them. */
#define LD1_Pin ((uint16_t)0x0001) /* PB0 */
#define LD1_GPIO_Port GPIOB
#define LD2_Pin ((uint16_t)0x0080) /* PB7 */
#define LD2_GPIO_Port GPIOB
#define LD3_Pin ((uint16_t)0x4000) /* PB14 */
#define LD3_GPIO_Port GPIOB

#endif /* BOARD_CHECK_MAIN_H */
